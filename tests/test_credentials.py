"""The credential check of the answers: every format in the table is refused, written plainly,
split by invisible characters or in full-width look-alikes, without echoing the value; the
look-alikes that are references or prose pass.

Secrets are built by concatenation so this file holds no literal token for a scanner to flag.
"""

from __future__ import annotations

import pytest
from extension_modules import load_extension

answers = load_extension("answers")

HEX40 = "0123456789abcdef" * 2 + "fedcba98"
B64 = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # AWS's documented example secret shape
ALNUM = "A1b2C3d4E5f6G7h8I9j0"

# (kind the refusal names, a secret of that format)
CREDENTIALS: list[tuple[str, str]] = [
    ("an AWS access key id", "AKIA" + "IOSFODNN7" + "EXAMPLE"),
    ("an AWS access key id", "ASIA" + "Y34FZKBOKMUTVV7A"),
    ("a password or secret assignment", "aws_secret_access_key" + "=" + B64),
    ("a long random-looking (base64) key", B64),
    ("a Google API key", "AIza" + "SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6q"),
    ("a private key block", "-----BEGIN " + "PRIVATE KEY-----"),
    ("a private key block", "-----BEGIN OPENSSH " + "PRIVATE KEY-----"),
    ("a service-account private key", '{"private_key' + '_id": "' + HEX40 + '"}'),
    ("an Azure storage account key", "DefaultEndpointsProtocol=https;AccountKey=" + B64 + "=="),
    (
        "an Azure storage account key",
        "Endpoint=sb://x.servicebus.windows.net/;SharedAccessKey=" + B64,
    ),
    (
        "an Azure SAS signature",
        "https://acct.blob.core.windows.net/c?sv=2022&sig=" + "a1B2c3%2F" * 4,
    ),
    (
        "a password or secret assignment",
        "jdbc:postgresql://db:5432/orders?user=app&password=" + "Hunter2x",
    ),
    (
        "a password or secret assignment",
        "Server=db;Database=orders;User Id=app;Password=" + "Hunter2x;",
    ),
    ("a password or secret assignment", "Driver={PostgreSQL};Server=db;UID=app;PWD=" + "Hunter2x;"),
    ("a password or secret assignment", '{"password' + '": "Hunter2x"}'),
    ("a password or secret assignment", "token" + "=abcdef123456"),
    ("a URL with user:password@ in it", "postgres://" + "app:Hunter2x" + "@db/orders"),
    ("a Slack token", "xoxb" + "-1234567890-abcdEFGH"),
    ("a Slack webhook URL", "https://hooks.slack.com/services/" + "T0000/B0000/" + ALNUM),
    ("a Stripe secret key", "sk" + "_live_" + "51H8abcdEFGHijklMNOP"),
    ("a Stripe secret key", "rk" + "_live_" + "51H8abcdEFGHijklMNOP"),
    *[("a GitHub token", prefix + "_" + ALNUM * 2) for prefix in ("ghp", "gho", "ghs")],
    ("a GitHub token", "github" + "_pat_" + "11ABCDEFG0_" + "a1B2c3D4e5" * 6),
    ("a GitLab token", "glpat" + "-" + "xYz12AbC3dEf45GhIj6k"),
    ("an npm token", "npm" + "_" + "a1B2c3D4e5" * 3 + "F6g7H8"),
    ("a PyPI token", "pypi" + "-AgEIcHlwaS5vcmc" + "CJDEyMzQ1Njc4LTk" * 3),
    ("a Twilio API key", "SK" + "0123456789abcdef" * 2),
    (
        "a SendGrid API key",
        "SG" + "." + "ngeVfQFYQlKU0ufo8x5d1A" + "." + "TwL2iGABf9DHoTf-09kqeF8tAmbihYzrnopKc-1s5cr",
    ),
    ("a DigitalOcean token", "dop" + "_v1_" + "0123456789abcdef" * 4),
    ("a Databricks token", "dapi" + "0123456789abcdef" * 2),
    ("an Anthropic API key", "sk" + "-ant-api03-" + ALNUM * 2),
    ("an OpenAI-style API key", "sk" + "-proj-" + ALNUM * 2),
    ("a Hugging Face token", "hf" + "_" + "AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGh"),
    ("a JSON Web Token", "eyJ" + "hbGciOiJIUzI1NiJ9." + "eyJ" + "zdWIiOiIxIn0.c2ln"),
    ("a bearer token", "Authorization: Bearer " + "abc.DEF_ghi-123456789012345"),
    ("a long hexadecimal key", "0123456789abcdef" * 4),
]

# Answers that mention credentials or look a little like them, and must pass.
LOOK_ALIKES = [
    "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/orders/db-AbCdEf",
    "arn:aws:iam::123456789012:role/orders-pipeline-runner",
    "prod/orders/db",
    "Reads the password from ${PASSWORD} at run time",
    "password=${ORDERS_DB_PASSWORD}",
    "password=<from the secret manager>",
    '"token": "{{ token }}"',
    "Connects with the password: from the environment, never a file",
    "Loads orders for the data-eng team into the analytics warehouse every night.",
    "Orders Pipeline",
    "123e4567-e89b-12d3-a456-426614174000",
    "Built from commit 4b825dc642cb6eb9a060e54bf8d69288fbee4904",
    "image digest sha256:" + "0123456789abcdef" * 4,
    "s3://orders-landing-bucket/raw/orders/year=2024/month=01/day=01/part-0000.parquet",
    "https://github.com/AcmeCorp/orders-pipeline/blob/main/docs/README.md",
    "Rotate the ghp_ tokens and the sk- keys yearly",
    "Uses scikit-learn and the sk-learn style of estimators",
    "ThisIsAVeryLongCamelCaseIdentifierNameForTheOrders",
    "secret",
    "token",
    "key",
]

INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u180e", "\u2062"]


def split_by(secret: str, separator: str) -> str:
    """`secret` with `separator` between every character."""
    return separator.join(secret)


def full_width(secret: str) -> str:
    """`secret` with each printable ASCII character replaced by its full-width form."""
    return "".join(chr(ord(char) + 0xFEE0) if "!" <= char <= "~" else char for char in secret)


def test_the_table_covers_at_least_thirty_formats() -> None:
    assert len({secret for _, secret in CREDENTIALS}) >= 30
    assert len({kind for kind, _ in CREDENTIALS}) >= 25


@pytest.mark.parametrize(("kind", "secret"), CREDENTIALS)
def test_each_format_is_refused_naming_its_kind_without_the_value(kind: str, secret: str) -> None:
    problem = answers.free_text_problem(f"Loads orders with {secret} inside", "description")
    assert problem.startswith(f"description looks like it contains a credential ({kind})")
    assert secret not in problem
    assert secret[:12] not in problem


@pytest.mark.parametrize(("kind", "secret"), CREDENTIALS)
@pytest.mark.parametrize("separator", INVISIBLE, ids=[f"U+{ord(c):04X}" for c in INVISIBLE])
def test_each_format_split_by_invisible_characters_is_refused(
    kind: str, secret: str, separator: str
) -> None:
    hidden = split_by(secret, separator)
    problem = answers.free_text_problem(f"Loads {hidden}", "description")
    assert f"({kind})" in problem
    assert hidden not in problem


@pytest.mark.parametrize(("kind", "secret"), CREDENTIALS)
def test_each_format_in_full_width_look_alikes_is_refused(kind: str, secret: str) -> None:
    disguised = full_width(secret)
    problem = answers.free_text_problem(f"Loads {disguised}", "description")
    assert f"({kind})" in problem
    assert disguised not in problem


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_references_and_prose_that_look_like_credentials_pass(text: str) -> None:
    assert answers.credential_kind(text) == ""
