from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm, BaseUserCreationForm, UsernameField

from accounts.models import User


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True}),
        help_text="The 6-digit code from your authenticator app, or one of your backup codes.",
    )


class ReauthForm(forms.Form):
    password = forms.CharField(label="Password", widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))
    code = forms.CharField(
        label="Code from your authenticator app (or a backup code)",
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code"}),
    )


class SignUpForm(BaseUserCreationForm):
    """Customers sign themselves up; the role is always customer (staff are made by an admin).
    Only the input's own form is checked (username format, address format, password strength):
    whether another account has the username or the address is not said here (that would tell
    anyone who has an account), but in the e-mail, which the address's owner alone reads."""

    email = forms.EmailField(
        label="E-mail address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        help_text="We send a link there to finish signing up; you can then sign in with it too. Stored encrypted.",
        error_messages={
            "required": "Enter your e-mail address.",
            "invalid": "Enter an e-mail address such as name@example.com.",
        },
    )

    field_order = ("username", "email", "password1", "password2")

    class Meta(BaseUserCreationForm.Meta):
        model = User
        fields = ("username",)
        help_texts = {"username": "A name to sign in with. It need not be your real name."}

    def validate_unique(self) -> None:
        """No uniqueness check: the answer must not depend on other accounts (see the class)."""

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip()


class EmailAddressForm(forms.Form):
    email = forms.EmailField(
        label="New e-mail address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        help_text="We send a link there; it becomes your address once you open it, signed in.",
        error_messages={
            "required": "Enter your e-mail address.",
            "invalid": "Enter an e-mail address such as name@example.com.",
        },
    )


# The longest thing a person signs in with: an e-mail address (a username is at most 150). It also
# keeps within django-axes' username column (255), which a longer value would overflow on
# PostgreSQL (a 500) before the password is even checked.
SIGN_IN_MAX_LENGTH = 254


class SignInForm(AuthenticationForm):
    username = UsernameField(
        label="Username or e-mail address",
        max_length=SIGN_IN_MAX_LENGTH,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        # AuthenticationForm sets the model's 150 as a widget attribute only (no validator); the
        # field's own validator (254, above) is the bound, and the browser allows an address.
        self.fields["username"].max_length = SIGN_IN_MAX_LENGTH
        self.fields["username"].widget.attrs["maxlength"] = str(SIGN_IN_MAX_LENGTH)
