# Application versions: the deploy workflow uploads each bundle here; Elastic Beanstalk
# keeps the newest 50 versions and deletes older bundles with them.
resource "aws_s3_bucket" "versions" {
  #checkov:skip=CKV_AWS_18:Access logging would need a second bucket per environment; uploads are made by the deploy role only and are recorded in CloudTrail.
  #checkov:skip=CKV_AWS_144:Bundles are rebuilt from git at any time; a second-region copy buys nothing.
  #checkov:skip=CKV_AWS_145:Bundles hold only the repository's source code; S3-managed encryption lets every Elastic Beanstalk reader (service, instances, deploy role) fetch them without a grant on the environment's KMS key.
  #checkov:skip=CKV2_AWS_62:Nothing needs to react to a new bundle: the deploy workflow creates the application version itself.
  bucket        = "${var.name}-versions-${local.account_id}-${local.region}"
  force_destroy = !var.db_deletion_protection
  tags          = local.tags
}

resource "aws_s3_bucket_public_access_block" "versions" {
  bucket                  = aws_s3_bucket.versions.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "versions" {
  bucket = aws_s3_bucket.versions.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "versions" {
  bucket = aws_s3_bucket.versions.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "versions" {
  bucket = aws_s3_bucket.versions.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "versions" {
  bucket = aws_s3_bucket.versions.id

  rule {
    id     = "expire-replaced-bundles"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = 30
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
}

resource "aws_s3_bucket_policy" "versions" {
  bucket = aws_s3_bucket.versions.id
  policy = data.aws_iam_policy_document.versions_bucket.json

  depends_on = [aws_s3_bucket_public_access_block.versions]
}

data "aws_iam_policy_document" "versions_bucket" {
  statement {
    sid       = "DenyPlainHTTP"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.versions.arn, "${aws_s3_bucket.versions.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}
