# What this environment's GitHub Actions deploy role (terraform/bootstrap) may do: upload
# a bundle to this environment's bucket, make it an application version of this
# application, and roll this environment onto it. Nothing in any other environment.
data "aws_iam_role" "deploy" {
  name = var.deploy_role_name
}

locals {
  eb_arn = "arn:${local.partition}:elasticbeanstalk:${local.region}:${local.account_id}"
  # Elastic Beanstalk tags what it creates for an environment with its name.
  eb_env_tag = { variable = "aws:ResourceTag/elasticbeanstalk:environment-name", value = var.name }
}

resource "aws_iam_role_policy" "deploy" {
  name   = "deploy-${var.name}"
  role   = data.aws_iam_role.deploy.id
  policy = data.aws_iam_policy_document.deploy.json
}

data "aws_iam_policy_document" "deploy" {
  statement {
    sid       = "UploadBundles"
    actions   = ["s3:PutObject", "s3:GetObject"]
    resources = ["${aws_s3_bucket.versions.arn}/bundles/*"]
  }

  statement {
    sid       = "FindTheBucket"
    actions   = ["s3:GetBucketLocation", "s3:ListBucket"]
    resources = [aws_s3_bucket.versions.arn]
  }

  statement {
    sid = "DeployThisEnvironment"
    actions = [
      "elasticbeanstalk:CreateApplicationVersion",
      "elasticbeanstalk:DescribeApplicationVersions",
      "elasticbeanstalk:DescribeEnvironments",
      "elasticbeanstalk:DescribeEnvironmentHealth",
      "elasticbeanstalk:DescribeEnvironmentResources",
      "elasticbeanstalk:DescribeEvents",
      "elasticbeanstalk:UpdateEnvironment",
    ]
    resources = [
      aws_elastic_beanstalk_application.this.arn,
      "${local.eb_arn}:applicationversion/${var.name}/*",
      "${local.eb_arn}:environment/${var.name}/${var.name}",
    ]
  }

  # Elastic Beanstalk carries out a deployment partly with the caller's credentials, on
  # its CloudFormation stack and auto scaling group for this environment (named awseb-*,
  # tagged with the environment's name).
  statement {
    sid = "ReadThisEnvironmentsStack"
    actions = [
      "cloudformation:DescribeStackResource",
      "cloudformation:DescribeStackResources",
      "cloudformation:DescribeStacks",
      "cloudformation:GetTemplate",
    ]
    resources = ["arn:${local.partition}:cloudformation:${local.region}:${local.account_id}:stack/awseb-*"]
  }

  statement {
    sid = "RollThisEnvironmentsInstances"
    actions = [
      "cloudformation:UpdateStack",
      "autoscaling:ResumeProcesses",
      "autoscaling:SuspendProcesses",
      "autoscaling:UpdateAutoScalingGroup",
      "autoscaling:SetDesiredCapacity",
      "autoscaling:TerminateInstanceInAutoScalingGroup",
    ]
    resources = [
      "arn:${local.partition}:cloudformation:${local.region}:${local.account_id}:stack/awseb-*",
      "arn:${local.partition}:autoscaling:${local.region}:${local.account_id}:autoScalingGroup:*:autoScalingGroupName/awseb-*",
    ]

    condition {
      test     = "StringEquals"
      variable = local.eb_env_tag.variable
      values   = [local.eb_env_tag.value]
    }
  }

  # Read-only calls that take no resource: what the deployment looks at while it rolls.
  statement {
    sid = "LookAround"
    actions = [
      "autoscaling:DescribeAutoScalingGroups",
      "autoscaling:DescribeAutoScalingInstances",
      "autoscaling:DescribeScalingActivities",
      "ec2:DescribeInstances",
      "ec2:DescribeInstanceStatus",
      "elasticloadbalancing:DescribeTargetHealth",
      "elasticloadbalancing:DescribeTargetGroups",
      "elasticloadbalancing:DescribeLoadBalancers",
    ]
    resources = ["*"]
  }

  # The platform's own bucket, where Elastic Beanstalk keeps processed versions and logs.
  statement {
    sid     = "PlatformBucket"
    actions = ["s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:GetBucketLocation", "s3:CreateBucket"]
    resources = [
      "arn:${local.partition}:s3:::elasticbeanstalk-${local.region}-${local.account_id}",
      "arn:${local.partition}:s3:::elasticbeanstalk-${local.region}-${local.account_id}/*",
    ]
  }
}
