from django.db import migrations, models
from django.db.models import OuterRef, Q, Subquery


def backfill(apps, schema_editor):
    """Older conversations get both times from their messages' plaintext timestamps (no body is
    read): the first system message ("Connecting you with a person", or an agent joining) marks
    the hand-over of a conversation that reached people, the first agent message the first reply."""
    Conversation = apps.get_model("conversations", "Conversation")
    Message = apps.get_model("conversations", "Message")
    first = lambda sender: Subquery(  # noqa: E731
        Message.objects.filter(conversation=OuterRef("pk"), sender=sender).order_by("seq").values("created_at")[:1]
    )
    reached_people = Q(state__in=["waiting", "agent"]) | Q(assigned_agent__isnull=False)
    Conversation.objects.filter(reached_people).update(
        handed_over_at=first("system"), first_response_at=first("agent")
    )


class Migration(migrations.Migration):

    dependencies = [
        ("conversations", "0006_canned_replies"),
    ]

    operations = [
        migrations.AddField(
            model_name="conversation",
            name="handed_over_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="conversation",
            name="first_response_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name="conversation",
            index=models.Index(fields=["created_at"], name="conversation_opened_idx"),
        ),
        migrations.AddIndex(
            model_name="conversation",
            index=models.Index(fields=["first_response_at"], name="conversation_answered_idx"),
        ),
        migrations.AddIndex(
            model_name="conversation",
            index=models.Index(fields=["resolved_at"], name="conversation_resolved_idx"),
        ),
    ]
