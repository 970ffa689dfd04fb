"""Load the demo datasets and queue a model on each (idempotent)."""

from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from registry import services
from registry.models import Dataset, RegisteredModel

DEMO_DIR = Path(__file__).resolve().parents[2] / "demo"
DEMOS = (
    # file, model name, description, algorithm, target
    (
        "churn.csv",
        "churn",
        "Will a customer cancel? (categories, missing values)",
        "logistic_regression",
        "churned",
    ),
    (
        "houses.csv",
        "house-prices",
        "Sale price from size, age and area.",
        "linear_regression",
        "price",
    ),
    ("shoppers.csv", "shopper-segments", "Customer segments by age and spending.", "kmeans", None),
)


class Command(BaseCommand):
    help = "Load the demo CSVs (registry/demo/) and queue a model on each; safe to run again."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--owner", help="username owning the demo data (default: first superuser)"
        )

    def handle(self, *args: Any, owner: str | None = None, **options: Any) -> None:
        users = get_user_model().objects
        user = (
            users.filter(username=owner).first()
            if owner
            else (users.filter(is_superuser=True).order_by("pk").first())
        )
        if user is None:
            raise CommandError("No owner for the demo data: create a superuser first.")
        for filename, model_name, description, algorithm, target in DEMOS:
            dataset = Dataset.objects.filter(owner=user, name=filename.removesuffix(".csv")).first()
            if dataset is None:
                dataset = services.dataset_create(
                    owner=user,
                    data=(DEMO_DIR / filename).read_bytes(),
                    name=filename.removesuffix(".csv"),
                )
            if RegisteredModel.objects.filter(name=model_name).exists():
                continue
            services.model_create_with_version(
                owner=user,
                name=model_name,
                description=description,
                dataset=dataset,
                algorithm=algorithm,
                target=target,
            )
            self.stdout.write(f"Queued demo model {model_name} ({algorithm} on {dataset.name}).")
        self.stdout.write("Demo data loaded.")
