terraform {
  # 1.10: S3 native state locking (use_lockfile); 1.11: write-only arguments (value_wo).
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 6.0"
    }
  }
}
