# GitHub Actions -> AWS without stored keys. The repository's OIDC subject claim is
# customised to include the ref (terraform/README.md, step "GitHub"), so the token's sub
# reads  repo:OWNER/NAME:environment:ENV:ref:refs/heads/BRANCH  and each role can require
# both the GitHub environment and the branch.
resource "aws_iam_openid_connect_provider" "github" {
  count          = var.create_github_oidc_provider ? 1 : 0
  url            = "https://${local.github_host}"
  client_id_list = ["sts.amazonaws.com"]
}

data "aws_iam_openid_connect_provider" "github" {
  count = var.create_github_oidc_provider ? 0 : 1
  url   = "https://${local.github_host}"
}

locals {
  github_provider_arn = (
    var.create_github_oidc_provider
    ? aws_iam_openid_connect_provider.github[0].arn
    : data.aws_iam_openid_connect_provider.github[0].arn
  )

  # Who may assume each deploy role: this repository, in that GitHub environment, and for
  # prod only the main branch (the production environment also admits only main and
  # needs a reviewer's approval).
  deploy_subjects = {
    dev  = "${local.repo}:environment:development:ref:refs/heads/*"
    prod = "${local.repo}:environment:production:ref:refs/heads/main"
  }
}

data "aws_iam_policy_document" "deploy_trust" {
  for_each = local.deploy_subjects

  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.github_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.github_host}:aud"
      values   = ["sts.amazonaws.com"]
    }

    # StringLike only where the subject has a wildcard (dev: any branch); prod's is exact.
    condition {
      test     = strcontains(each.value, "*") ? "StringLike" : "StringEquals"
      variable = "${local.github_host}:sub"
      values   = [each.value]
    }
  }
}

resource "aws_iam_role" "deploy" {
  for_each = local.deploy_subjects

  name                 = "mlserving-deploy-${each.key}"
  description          = "GitHub Actions deploys ${var.github_repository} to mlserving-${each.key}"
  assume_role_policy   = data.aws_iam_policy_document.deploy_trust[each.key].json
  max_session_duration = 3600
}
