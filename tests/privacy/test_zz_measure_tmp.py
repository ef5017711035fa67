import statistics, time
import pytest
from django.test import Client
from chatbot_site.celery import app as celery_app

pytestmark = pytest.mark.django_db(transaction=True)


def test_measure(customer, settings, tmp_path):
    settings.PRIVACY_REQUEST_RATE_PER_ADDRESS = settings.PRIVACY_REQUEST_RATE_PER_IP = "100000/h"
    settings.MEDIA_ROOT = tmp_path
    celery_app.conf.task_always_eager = True
    customer.email = "timed@example.com"; customer.save(update_fields=["email"])
    c = Client()
    t = {"known": [], "unknown": []}
    for i in range(150):
        for label, email in (("known", "timed@example.com"), ("unknown", f"ghost{i}@example.com")):
            s = time.perf_counter(); r = c.post("/privacy/requests/new/", {"kind": "deletion", "email": email}); t[label].append(time.perf_counter() - s)
            assert r.status_code == 302
    celery_app.conf.task_always_eager = False
    for k, v in t.items():
        v = sorted(v)
        print(f"\nMEASURE {k}: median {statistics.median(v)*1000:.2f} ms, p10 {v[15]*1000:.2f}, p90 {v[135]*1000:.2f}")
