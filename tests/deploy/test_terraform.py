"""The Terraform code, read with python-hcl2: the structure that keeps the deployment safe.

checkov exits 0 on a file it cannot parse, so every .tf file must parse here too.
"""

import re

import pytest

from tests.deploy.support import (
    TERRAFORM,
    blocks,
    load_dir,
    load_hcl,
    locals_of,
    one,
    tf_files,
    walk,
)

ROOTS = {"dev": TERRAFORM / "envs" / "dev", "prod": TERRAFORM / "envs" / "prod"}
MODULE = TERRAFORM / "modules" / "environment"
BOOTSTRAP = TERRAFORM / "bootstrap"


def module_call(env: str) -> dict:
    tree = load_dir(ROOTS[env])
    calls = [block["environment"] for block in tree["module"] if "environment" in block]
    assert len(calls) == 1
    return calls[0]


def settings(environment: dict) -> dict[tuple[str, str], str]:
    return {(s["namespace"], s["name"]): s["value"] for s in environment["setting"]}


@pytest.mark.parametrize("path", tf_files(), ids=lambda p: str(p.relative_to(TERRAFORM)))
def test_it_parses_every_tf_file(path):
    assert load_hcl(path), f"{path} is empty"


def test_it_has_the_module_the_two_environments_and_the_bootstrap():
    for directory in (MODULE, BOOTSTRAP, *ROOTS.values()):
        assert list(directory.glob("*.tf")), f"no .tf files in {directory}"
    for env in ROOTS:
        assert module_call(env)["source"] == "../../modules/environment"


def test_it_keeps_each_environments_state_in_s3_with_locking_under_its_own_key():
    keys = {}
    for env, directory in ROOTS.items():
        terraform = load_dir(directory)["terraform"]
        backends = [b["backend"][0] for b in terraform if "backend" in b]
        assert len(backends) == 1, f"{env}: one backend block"
        assert list(backends[0]) == ["s3"], f"{env}: S3 backend"
        s3 = backends[0]["s3"]
        assert s3["use_lockfile"] is True, f"{env}: state locking"
        assert s3["encrypt"] is True
        # Bucket and region come from backend.hcl at init time, never hard-coded per account.
        assert "bucket" not in s3
        keys[env] = s3["key"]
    assert keys["dev"] != keys["prod"]
    assert all(env in key for env, key in keys.items())


def test_it_keeps_the_database_private_encrypted_and_its_password_in_secrets_manager():
    db = one(load_dir(MODULE), "resource", "aws_db_instance")
    assert db["publicly_accessible"] is False
    assert db["storage_encrypted"] is True
    assert db["manage_master_user_password"] is True
    assert "password" not in db
    assert "password_wo" not in db
    assert db["engine"] == "postgres"


def test_it_protects_the_prod_database_and_lets_dev_go():
    db = one(load_dir(MODULE), "resource", "aws_db_instance")
    assert db["deletion_protection"] == "${var.db_deletion_protection}"
    assert db["multi_az"] == "${var.db_multi_az}"
    assert db["skip_final_snapshot"] == "${!var.db_deletion_protection}"
    prod, dev = module_call("prod"), module_call("dev")
    assert prod["db_deletion_protection"] is True
    assert prod["db_multi_az"] is True
    assert dev["db_deletion_protection"] is False
    # Prod is the bigger one.
    assert prod["min_instances"] >= 2
    assert prod["instance_type"] != dev["instance_type"]
    assert prod["db_instance_class"] != dev["db_instance_class"]


def test_it_lets_only_the_web_instances_reach_the_database():
    tree = load_dir(MODULE)
    database_sg = blocks(tree, "resource", "aws_security_group")["database"]
    assert "ingress" not in database_sg
    assert "egress" not in database_sg
    ingress = blocks(tree, "resource", "aws_vpc_security_group_ingress_rule")
    to_database = [
        r for r in ingress.values() if "security_group.database" in r["security_group_id"]
    ]
    assert len(to_database) == 1
    rule = to_database[0]
    assert rule["referenced_security_group_id"] == "${aws_security_group.web.id}"
    assert (rule["from_port"], rule["to_port"]) == (5432, 5432)
    assert "cidr_ipv4" not in rule
    db = one(tree, "resource", "aws_db_instance")
    assert db["vpc_security_group_ids"] == ["${aws_security_group.database.id}"]


def test_it_checks_health_at_readyz_on_amazon_linux_2023_python_313():
    tree = load_dir(MODULE)
    environment = one(tree, "resource", "aws_elastic_beanstalk_environment")
    values = settings(environment)
    assert values[("aws:elasticbeanstalk:environment:process:default", "HealthCheckPath")] == (
        "/readyz"
    )
    assert values[("aws:elasticbeanstalk:application", "Application Healthcheck URL")] == "/readyz"
    assert values[("aws:elasticbeanstalk:environment", "EnvironmentType")] == "LoadBalanced"
    assert values[("aws:autoscaling:asg", "MinSize")] == "${tostring(var.min_instances)}"
    assert values[("aws:autoscaling:asg", "MaxSize")] == "${tostring(var.max_instances)}"
    stack = one(tree, "data", "aws_elastic_beanstalk_solution_stack")
    assert stack["most_recent"] is True
    assert "Amazon Linux 2023" in stack["name_regex"]
    assert stack["name_regex"].endswith("Python 3\\\\.13$")


def test_it_listens_on_https_when_given_a_certificate():
    environment = one(load_dir(MODULE), "resource", "aws_elastic_beanstalk_environment")
    https = [
        d["setting"]
        for d in environment["dynamic"]
        if d["setting"]["content"][0]["namespace"] == "aws:elbv2:listener:443"
    ]
    assert len(https) == 1
    assert "var.certificate_arn" in https[0]["for_each"]
    assert "local.https ?" in https[0]["for_each"]
    assert locals_of(load_dir(MODULE))["https"] == "${var.certificate_arn != null}"


def test_it_leaves_the_deployed_version_to_the_deploy_workflow():
    environment = one(load_dir(MODULE), "resource", "aws_elastic_beanstalk_environment")
    assert "version_label" in environment["lifecycle"][0]["ignore_changes"]
    assert "version_label" not in environment


def test_it_passes_secrets_to_the_app_only_as_files_it_reads_at_start():
    tree = load_dir(MODULE)
    environment = one(tree, "resource", "aws_elastic_beanstalk_environment")
    app = {
        name: value
        for (namespace, name), value in settings(environment).items()
        if namespace == "aws:elasticbeanstalk:application:environment"
    }
    assert "DJANGO_SECRET_KEY" not in app
    assert "DATABASE_URL" not in app
    assert app["DJANGO_SECRET_KEY_FILE"].endswith("/secret_key")
    assert app["DATABASE_URL_FILE"].endswith("/database_url")
    # Where the secrets are, for the instances' prebuild hook: references, not values.
    assert app["MLSERVE_DB_SECRET_ARN"] == (
        "${aws_db_instance.this.master_user_secret[0].secret_arn}"
    )
    assert app["MLSERVE_SECRET_KEY_PARAMETER"] == "${aws_ssm_parameter.django_secret_key.name}"
    assert app["DJANGO_BEHIND_PROXY"] == "1"
    assert "localhost" in app["DJANGO_ALLOWED_HOSTS"]  # the nginx health-check Host
    # Extra settings may not smuggle secrets in.
    variable = next(v for v in tree["variable"] if "extra_environment" in v)
    assert "SECRET|PASSWORD" in variable["extra_environment"]["validation"][0]["condition"]
    # The Django key is written write-only: never in the plan or the state.
    parameter = one(tree, "resource", "aws_ssm_parameter")
    assert parameter["type"] == "SecureString"
    assert "value" not in parameter
    assert parameter["value_wo"].startswith("${ephemeral.")


def test_it_lets_the_instances_read_only_their_own_secrets():
    tree = load_dir(MODULE)
    policy = blocks(tree, "data", "aws_iam_policy_document")["instance_secrets"]
    by_sid = {s["sid"]: s for s in policy["statement"]}
    assert by_sid["DatabasePassword"]["actions"] == ["secretsmanager:GetSecretValue"]
    assert by_sid["DatabasePassword"]["resources"] == [
        "${aws_db_instance.this.master_user_secret[0].secret_arn}"
    ]
    assert by_sid["DjangoSecretKey"]["resources"] == ["${aws_ssm_parameter.django_secret_key.arn}"]
    for statement in policy["statement"]:
        assert "*" not in statement["resources"]


CREDENTIAL_KEYS = re.compile(
    r"^(password|master_password|secret_key|access_key|secret_access_key|token|"
    r"secret_string|private_key)$",
    re.IGNORECASE,
)
CREDENTIAL_TEXT = [
    re.compile(r"AKIA[0-9A-Z]{16}"),  # an AWS access key id
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"(?i)aws_secret_access_key\s*="),
    re.compile(r"postgres(ql)?://[^:@/\s]+:[^@\s]+@"),  # a URL with a password in it
]


def test_it_has_no_literal_credentials_anywhere():
    files = [*tf_files(), *TERRAFORM.rglob("*.tfvars*"), *TERRAFORM.rglob("*.hcl")]
    for path in files:
        text = path.read_text()
        for pattern in CREDENTIAL_TEXT:
            assert not pattern.search(text), f"{path}: looks like a credential ({pattern.pattern})"
        if path.suffix != ".tf":
            continue
        for where, key, value in walk(load_hcl(path)):
            if CREDENTIAL_KEYS.match(str(key)) and isinstance(value, str):
                assert value.startswith("${"), f"{path}{where}: literal {key}"
    # The providers authenticate from the environment (SSO, OIDC), never from the code.
    for path in tf_files():
        for provider in load_hcl(path).get("provider", []):
            for body in provider.values():
                assert not {"access_key", "secret_key", "token", "profile"} & set(body), path


def test_it_trusts_the_prod_deploy_role_only_from_main_in_the_production_environment():
    tree = load_dir(BOOTSTRAP)
    subjects = locals_of(tree)["deploy_subjects"]
    assert subjects["prod"] == "${local.repo}:environment:production:ref:refs/heads/main"
    assert "*" not in subjects["prod"]
    assert subjects["dev"].startswith("${local.repo}:environment:development:ref:refs/heads/")
    assert locals_of(tree)["repo"] == "repo:${var.github_repository}"

    trust = blocks(tree, "data", "aws_iam_policy_document")["deploy_trust"]
    assert trust["for_each"] == "${local.deploy_subjects}"
    statement = trust["statement"][0]
    assert statement["actions"] == ["sts:AssumeRoleWithWebIdentity"]
    assert statement["principals"][0]["type"] == "Federated"
    conditions = {c["variable"]: c for c in statement["condition"]}
    audience = conditions["${local.github_host}:aud"]
    assert (audience["test"], audience["values"]) == ("StringEquals", ["sts.amazonaws.com"])
    subject = conditions["${local.github_host}:sub"]
    assert subject["values"] == ["${each.value}"]
    # Exact match unless the subject has a wildcard (only dev's does).
    assert subject["test"] == '${strcontains(each.value, "*") ? "StringLike" : "StringEquals"}'

    roles = blocks(tree, "resource", "aws_iam_role")
    assert roles["deploy"]["assume_role_policy"] == (
        "${data.aws_iam_policy_document.deploy_trust[each.key].json}"
    )
    # The repository variable is owner/name, no wildcards.
    variable = next(v["github_repository"] for v in tree["variable"] if "github_repository" in v)
    assert "*" not in variable["validation"][0]["condition"].split("regex(")[1].split(",")[0]


def test_it_bootstraps_a_private_versioned_encrypted_state_bucket():
    tree = load_dir(BOOTSTRAP)
    public = one(tree, "resource", "aws_s3_bucket_public_access_block")
    for flag in ("block_public_acls", "block_public_policy", "ignore_public_acls"):
        assert public[flag] is True
    assert public["restrict_public_buckets"] is True
    versioning = one(tree, "resource", "aws_s3_bucket_versioning")
    assert versioning["versioning_configuration"][0]["status"] == "Enabled"
    encryption = one(tree, "resource", "aws_s3_bucket_server_side_encryption_configuration")
    default = encryption["rule"][0]["apply_server_side_encryption_by_default"][0]
    assert default["sse_algorithm"] == "aws:kms"
    oidc = blocks(tree, "resource", "aws_iam_openid_connect_provider")["github"]
    assert oidc["url"] == "https://${local.github_host}"
    assert locals_of(tree)["github_host"] == "token.actions.githubusercontent.com"
    assert oidc["client_id_list"] == ["sts.amazonaws.com"]


def test_it_grants_each_deploy_role_only_its_own_environment():
    tree = load_dir(MODULE)
    policy = blocks(tree, "data", "aws_iam_policy_document")["deploy"]
    by_sid = {s["sid"]: s for s in policy["statement"]}
    deploy = by_sid["DeployThisEnvironment"]
    assert "elasticbeanstalk:UpdateEnvironment" in deploy["actions"]
    assert "elasticbeanstalk:CreateApplicationVersion" in deploy["actions"]
    assert all("var.name" in r or "aws_elastic_beanstalk" in r for r in deploy["resources"])
    for statement in policy["statement"]:
        assert not any(a.endswith(":*") or a == "*" for a in statement["actions"]), statement
        if statement["resources"] == ["*"]:
            assert all(":Describe" in a for a in statement["actions"]), statement
    assert module_call("dev")["deploy_role_name"] == "mlserving-deploy-dev"
    assert module_call("prod")["deploy_role_name"] == "mlserving-deploy-prod"


def test_it_skips_checkov_checks_only_inline_and_with_a_reason():
    skip = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+)(?::(.*))?")
    for path in tf_files():
        for number, line in enumerate(path.read_text().splitlines(), 1):
            match = skip.search(line)
            if match:
                reason = (match.group(2) or "").strip()
                assert len(reason) >= 20, f"{path}:{number}: skip of {match.group(1)} has no reason"
    # No blanket skips on the command line or in a config file.
    assert not list(TERRAFORM.rglob(".checkov.y*ml"))
