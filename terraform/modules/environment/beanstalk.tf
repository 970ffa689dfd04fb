# The current Amazon Linux 2023 platform with Python 3.13 when the environment is created;
# after that, managed platform updates keep it current (see ignore_changes below).
data "aws_elastic_beanstalk_solution_stack" "python" {
  most_recent = true
  name_regex  = "^64bit Amazon Linux 2023 (.*) running Python 3\\.13$"
}

resource "aws_elastic_beanstalk_application" "this" {
  name        = var.name
  description = "ML Serving (${var.name})"
  tags        = local.tags

  appversion_lifecycle {
    service_role          = aws_iam_role.service.arn
    max_count             = 50
    delete_source_from_s3 = true
  }
}

locals {
  https     = var.certificate_arn != null
  scheme    = local.https ? "https" : "http"
  eb_host   = "${var.cname_prefix}.${local.region}.elasticbeanstalk.com"
  hosts     = compact([var.domain_name, local.eb_host])
  url       = "${local.scheme}://${var.domain_name != null ? var.domain_name : local.eb_host}"
  secrets   = "/etc/mlserving" # written by .platform/bin/mlserve-secrets
  https_env = local.https ? "1" : "0"
}

resource "aws_elastic_beanstalk_environment" "this" {
  #checkov:skip=CKV_AWS_312:Enhanced health is on (healthreporting:system SystemType=enhanced) and streamed (cloudwatch:logs:health); the check wants HealthStreamingEnabled in the wrong namespace, which Elastic Beanstalk rejects.
  name                   = var.name
  application            = aws_elastic_beanstalk_application.this.name
  solution_stack_name    = data.aws_elastic_beanstalk_solution_stack.python.name
  cname_prefix           = var.cname_prefix
  tier                   = "WebServer"
  wait_for_ready_timeout = "40m"
  tags                   = local.tags

  # Load-balanced, auto scaling, with our roles.
  setting {
    namespace = "aws:elasticbeanstalk:environment"
    name      = "EnvironmentType"
    value     = "LoadBalanced"
  }
  setting {
    namespace = "aws:elasticbeanstalk:environment"
    name      = "LoadBalancerType"
    value     = "application"
  }
  setting {
    namespace = "aws:elasticbeanstalk:environment"
    name      = "ServiceRole"
    value     = aws_iam_role.service.arn
  }
  setting {
    namespace = "aws:autoscaling:launchconfiguration"
    name      = "IamInstanceProfile"
    value     = aws_iam_instance_profile.instance.name
  }
  setting {
    namespace = "aws:autoscaling:launchconfiguration"
    name      = "SecurityGroups"
    value     = aws_security_group.web.id
  }
  setting {
    namespace = "aws:autoscaling:launchconfiguration"
    name      = "DisableIMDSv1"
    value     = "true"
  }
  setting {
    namespace = "aws:autoscaling:launchconfiguration"
    name      = "RootVolumeType"
    value     = "gp3"
  }
  setting {
    namespace = "aws:ec2:instances"
    name      = "InstanceTypes"
    value     = var.instance_type
  }
  setting {
    namespace = "aws:autoscaling:asg"
    name      = "MinSize"
    value     = tostring(var.min_instances)
  }
  setting {
    namespace = "aws:autoscaling:asg"
    name      = "MaxSize"
    value     = tostring(var.max_instances)
  }
  setting {
    namespace = "aws:autoscaling:trigger"
    name      = "MeasureName"
    value     = "CPUUtilization"
  }
  setting {
    namespace = "aws:autoscaling:trigger"
    name      = "Unit"
    value     = "Percent"
  }
  setting {
    namespace = "aws:autoscaling:trigger"
    name      = "UpperThreshold"
    value     = "70"
  }
  setting {
    namespace = "aws:autoscaling:trigger"
    name      = "LowerThreshold"
    value     = "25"
  }

  # Network: public load balancer; instances reachable only through it.
  setting {
    namespace = "aws:ec2:vpc"
    name      = "VPCId"
    value     = local.vpc_id
  }
  setting {
    namespace = "aws:ec2:vpc"
    name      = "Subnets"
    value     = join(",", local.subnet_ids)
  }
  setting {
    namespace = "aws:ec2:vpc"
    name      = "ELBSubnets"
    value     = join(",", local.subnet_ids)
  }
  setting {
    namespace = "aws:ec2:vpc"
    name      = "ELBScheme"
    value     = "public"
  }
  setting {
    namespace = "aws:ec2:vpc"
    name      = "AssociatePublicIpAddress"
    value     = "true"
  }

  # Health: the load balancer and Elastic Beanstalk ask /readyz, which answers 200 only
  # when the database answers and every migration is applied.
  setting {
    namespace = "aws:elasticbeanstalk:environment:process:default"
    name      = "HealthCheckPath"
    value     = "/readyz"
  }
  setting {
    namespace = "aws:elasticbeanstalk:environment:process:default"
    name      = "MatcherHTTPCode"
    value     = "200"
  }
  setting {
    namespace = "aws:elasticbeanstalk:environment:process:default"
    name      = "HealthCheckInterval"
    value     = "15"
  }
  setting {
    namespace = "aws:elasticbeanstalk:environment:process:default"
    name      = "DeregistrationTimeout"
    value     = "30"
  }
  setting {
    namespace = "aws:elasticbeanstalk:application"
    name      = "Application Healthcheck URL"
    value     = "/readyz"
  }
  setting {
    namespace = "aws:elasticbeanstalk:healthreporting:system"
    name      = "SystemType"
    value     = "enhanced"
  }
  setting {
    namespace = "aws:elasticbeanstalk:cloudwatch:logs:health"
    name      = "HealthStreamingEnabled"
    value     = "true"
  }
  setting {
    namespace = "aws:elasticbeanstalk:cloudwatch:logs:health"
    name      = "RetentionInDays"
    value     = tostring(var.log_retention_days)
  }

  # Deployments keep full capacity: a new batch of instances takes the new version first
  # (the leader among them runs the migrations), then the old ones are replaced.
  setting {
    namespace = "aws:elasticbeanstalk:command"
    name      = "DeploymentPolicy"
    value     = "RollingWithAdditionalBatch"
  }
  setting {
    namespace = "aws:elasticbeanstalk:command"
    name      = "BatchSizeType"
    value     = "Fixed"
  }
  setting {
    namespace = "aws:elasticbeanstalk:command"
    name      = "BatchSize"
    value     = "1"
  }
  setting {
    namespace = "aws:elasticbeanstalk:command"
    name      = "Timeout"
    value     = "1200"
  }

  # Platform patches weekly, in a quiet hour.
  setting {
    namespace = "aws:elasticbeanstalk:managedactions"
    name      = "ManagedActionsEnabled"
    value     = true # a bool (Terraform makes it "true"): checkov's CKV_AWS_340 reads it so
  }
  setting {
    namespace = "aws:elasticbeanstalk:managedactions"
    name      = "PreferredStartTime"
    value     = "Sun:03:00"
  }
  setting {
    namespace = "aws:elasticbeanstalk:managedactions:platformupdate"
    name      = "UpdateLevel"
    value     = "minor"
  }

  # Logs to CloudWatch.
  setting {
    namespace = "aws:elasticbeanstalk:cloudwatch:logs"
    name      = "StreamLogs"
    value     = "true"
  }
  setting {
    namespace = "aws:elasticbeanstalk:cloudwatch:logs"
    name      = "RetentionInDays"
    value     = tostring(var.log_retention_days)
  }
  setting {
    namespace = "aws:elasticbeanstalk:cloudwatch:logs"
    name      = "DeleteOnTerminate"
    value     = "false"
  }

  # HTTPS on 443 when a certificate is given (port 80 stays open: Django redirects it).
  dynamic "setting" {
    for_each = local.https ? {
      ListenerEnabled    = "true"
      Protocol           = "HTTPS"
      SSLCertificateArns = var.certificate_arn
      SSLPolicy          = "ELBSecurityPolicy-TLS13-1-2-2021-06"
    } : {}
    content {
      namespace = "aws:elbv2:listener:443"
      name      = setting.key
      value     = setting.value
    }
  }

  # The app's settings (README "Configuration"). Secrets appear only as where to find
  # them: the instances turn them into files at deploy time, read through *_FILE.
  # (Static blocks, not a dynamic one: checkov cannot see through a dynamic "setting".)
  # "localhost" is the Host the nginx health-check location sends (.platform/nginx).
  setting {
    namespace = "aws:elasticbeanstalk:application:environment"
    name      = "DJANGO_ALLOWED_HOSTS"
    value     = join(",", concat(local.hosts, ["localhost"]))
  }
  setting {
    namespace = "aws:elasticbeanstalk:application:environment"
    name      = "DJANGO_CSRF_TRUSTED_ORIGINS"
    value     = join(",", [for host in local.hosts : "${local.scheme}://${host}"])
  }
  setting {
    namespace = "aws:elasticbeanstalk:application:environment"
    name      = "DJANGO_BEHIND_PROXY"
    value     = "1"
  }
  setting {
    namespace = "aws:elasticbeanstalk:application:environment"
    name      = "DJANGO_SECURE_SSL_REDIRECT"
    value     = local.https_env
  }
  setting {
    namespace = "aws:elasticbeanstalk:application:environment"
    name      = "DJANGO_SECURE_COOKIES"
    value     = local.https_env
  }
  setting {
    namespace = "aws:elasticbeanstalk:application:environment"
    name      = "DJANGO_HSTS_SECONDS"
    value     = local.https ? tostring(var.hsts_seconds) : "0"
  }
  setting {
    namespace = "aws:elasticbeanstalk:application:environment"
    name      = "DJANGO_SECRET_KEY_FILE"
    value     = "${local.secrets}/secret_key"
  }
  setting {
    namespace = "aws:elasticbeanstalk:application:environment"
    name      = "DATABASE_URL_FILE"
    value     = "${local.secrets}/database_url"
  }
  setting {
    namespace = "aws:elasticbeanstalk:application:environment"
    name      = "WEB_CONCURRENCY"
    value     = tostring(var.web_concurrency)
  }
  # gunicorn listens on loopback only: nginx is its one client.
  setting {
    namespace = "aws:elasticbeanstalk:application:environment"
    name      = "HOST"
    value     = "127.0.0.1"
  }
  setting {
    namespace = "aws:elasticbeanstalk:application:environment"
    name      = "PORT"
    value     = "8000"
  }
  # Where the secrets are, for .platform/bin/mlserve-secrets.
  setting {
    namespace = "aws:elasticbeanstalk:application:environment"
    name      = "MLSERVE_AWS_REGION"
    value     = local.region
  }
  setting {
    namespace = "aws:elasticbeanstalk:application:environment"
    name      = "MLSERVE_DB_SECRET_ARN"
    value     = aws_db_instance.this.master_user_secret[0].secret_arn
  }
  setting {
    namespace = "aws:elasticbeanstalk:application:environment"
    name      = "MLSERVE_DB_HOST"
    value     = aws_db_instance.this.address
  }
  setting {
    namespace = "aws:elasticbeanstalk:application:environment"
    name      = "MLSERVE_DB_PORT"
    value     = tostring(aws_db_instance.this.port)
  }
  setting {
    namespace = "aws:elasticbeanstalk:application:environment"
    name      = "MLSERVE_DB_NAME"
    value     = local.db_name
  }
  setting {
    namespace = "aws:elasticbeanstalk:application:environment"
    name      = "MLSERVE_SECRET_KEY_PARAMETER"
    value     = aws_ssm_parameter.django_secret_key.name
  }

  # Any other settings of the app (var.extra_environment: never secrets).
  dynamic "setting" {
    for_each = var.extra_environment
    content {
      namespace = "aws:elasticbeanstalk:application:environment"
      name      = setting.key
      value     = setting.value
    }
  }

  lifecycle {
    # The deploy workflow owns the running version, and managed platform updates own the
    # platform version: neither is drift for Terraform to undo.
    ignore_changes = [version_label, solution_stack_name]
  }
}
