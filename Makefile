# The interface for humans and CI alike. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV   := .venv
PY     := $(VENV)/bin/python
CDK    := node_modules/.bin/cdk
ENVS   := dev staging prod
# `make synth` builds every env; `make synth ENV=prod` just one.
SYNTH_ENVS := $(if $(ENV),$(ENV),$(ENVS))

# jsii prints an end-of-life banner on Node 20; the value names the major version to silence.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_VERSION_CHECK := true
CDK_FLAGS := --no-notices

.PHONY: help install demo local send lint format typecheck test pr test-unit test-integration test-e2e test-infra \
        bench bench-smoke \
        synth lock openapi fuzz checkov bootstrap deploy deploy-assembly deploy-identity diff preflight smoke clean \
        require-env require-assembly

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  %-18s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt requirements-dev.txt lambdas/requirements.txt pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	# The `ops` console command (ops_cli), editable: no build dependencies to fetch.
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed node_modules/.installed ## Create .venv and install the pinned Python and npm dependencies

demo: install ## Run the whole pipeline locally on a scripted mix of webhooks, report, stop
	$(PY) -m local demo

local: install ## Start the whole pipeline locally and stay up (Ctrl-C stops it)
	$(PY) -m local run

send: install ## Sign FILE with Standard Webhooks and POST it: make send FILE=x.json [URL=...]
	@test -n "$(FILE)" || { echo "error: FILE is required: make send FILE=docs/examples/order-webhook.json" >&2; exit 2; }
	$(PY) -m local send $(FILE) $(if $(URL),--url $(URL)) $(if $(SECRET),--secret $(SECRET))

lint: install ## ruff lint and format check; actionlint on the GitHub workflows
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/actionlint -shellcheck $(VENV)/bin/shellcheck

format: install ## Apply ruff fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

typecheck: install ## mypy (strict)
	$(VENV)/bin/mypy

test: lint typecheck ## Lint, type-check and run every test suite (offline), with the coverage floor
	$(VENV)/bin/pytest -n 2 --dist loadfile --cov --cov-report=term

pr: test fuzz synth checkov ## Everything CI runs on a pull request that needs no AWS account

test-unit: install
	$(VENV)/bin/pytest tests/unit
test-integration: install
	$(VENV)/bin/pytest tests/integration
test-e2e: install
	$(VENV)/bin/pytest tests/e2e
test-infra: install
	$(VENV)/bin/pytest tests/infra

# A benchmark, not a test: it asserts nothing and prints every figure beside its floor.
bench: install ## Measure side by side; write bench/results.json, bench/results.md and the README's figures
	$(PY) -m bench

bench-smoke: install ## CI: a short run of every benchmark into bench/smoke/ (the README is left alone)
	$(PY) -m bench --quick

synth: install ## Synthesize every env (or ENV=...) into cdk.out/<env>, then cfn-lint them
	@for env in $(SYNTH_ENVS); do \
	  echo "== synth $$env (cdk-nag AwsSolutions runs as a validation plugin)"; \
	  $(CDK) synth $(CDK_FLAGS) --quiet --context env=$$env --output cdk.out/$$env || exit 1; \
	  echo "== cfn-lint $$env"; \
	  $(VENV)/bin/cfn-lint --non-zero-exit-code error --format parseable \
	    cdk.out/$$env/WebhookPipeline-$$env.template.json \
	    cdk.out/$$env/WebhookPipeline-$$env-DeployIdentity.template.json || exit 1; \
	done

openapi: install ## Regenerate docs/openapi.json from the API functions' routes
	$(PY) -m local.openapi > docs/openapi.json

# Seed and examples per operation fixed: the same cases every run (at least 1,000 of them).
# A quick look: make fuzz FUZZ_EXAMPLES=10 FUZZ_MIN_CASES=0
FUZZ_EXAMPLES ?= 100
FUZZ_MIN_CASES ?= 1000
fuzz: install ## schemathesis on every route of docs/openapi.json against a fresh local runtime
	$(PY) -m local.fuzz --max-examples $(FUZZ_EXAMPLES) --min-cases $(FUZZ_MIN_CASES)

# The layer installs exactly this lock (hashes, every transitive dependency) for the Lambda runtime:
# Python 3.14 on arm64 (manylinux_2_28), resolved from lambdas/requirements.txt with uv.
lock: install ## Re-resolve lambdas/requirements.lock (hashes) after changing lambdas/requirements.txt
	$(VENV)/bin/uv pip compile lambdas/requirements.txt --python-version 3.14 \
	  --python-platform aarch64-manylinux_2_28 --generate-hashes --no-header \
	  --output-file lambdas/requirements.lock

# checkov pins its own boto3: it gets a venv of its own.
CHECKOV_VENV := .venv-checkov
$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || python3 -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	touch $@

checkov: $(CHECKOV_VENV)/.installed ## checkov on the synthesized templates (run make synth first); skips in .checkov.yaml
	@for env in $(SYNTH_ENVS); do \
	  for stack in WebhookPipeline-$$env WebhookPipeline-$$env-DeployIdentity; do \
	    echo "== checkov $$stack"; \
	    $(CHECKOV_VENV)/bin/checkov --config-file .checkov.yaml \
	      --file cdk.out/$$env/$$stack.template.json || exit 1; \
	  done; \
	done

require-env:
	@test -n "$(ENV)" || { echo "error: ENV is required: make $(MAKECMDGOALS) ENV=dev|staging|prod" >&2; exit 2; }

require-assembly:
	@test -f "$(ASSEMBLY)/manifest.json" || { echo "error: ASSEMBLY must be a synthesized cloud assembly (cdk.out/<env>): got '$(ASSEMBLY)'" >&2; exit 2; }

bootstrap: install require-env ## Prepare an account/region for CDK once: make bootstrap ENV=prod
	$(CDK) bootstrap $(CDK_FLAGS) --context env=$(ENV) --output cdk.out/$(ENV)

deploy: install require-env ## Deploy one env from a terminal (asks before IAM broadening): make deploy ENV=prod
	$(CDK) deploy $(CDK_FLAGS) --context env=$(ENV) --output cdk.out/$(ENV) --require-approval broadening \
	  WebhookPipeline-$(ENV)

# The pipeline's deploy: the assembly synthesized once, reviewed as a diff before the environment's
# approval, so the CLI must not prompt again (no terminal).
deploy-assembly: install require-env require-assembly ## CI: deploy a synthesized assembly: make deploy-assembly ENV=prod ASSEMBLY=cdk.out/prod
	$(CDK) deploy $(CDK_FLAGS) --app $(ASSEMBLY) --require-approval never WebhookPipeline-$(ENV)

deploy-identity: install require-env ## The GitHub OIDC provider and deploy roles in ENV's account: make deploy-identity ENV=prod
	$(CDK) deploy $(CDK_FLAGS) --context env=$(ENV) --output cdk.out/$(ENV)-identity --require-approval broadening \
	  WebhookPipeline-$(ENV)-DeployIdentity

diff: install require-env ## What a deploy would change, security changes included: make diff ENV=prod [ASSEMBLY=cdk.out/prod]
	$(CDK) diff $(CDK_FLAGS) --no-change-set \
	  $(if $(ASSEMBLY),--app $(ASSEMBLY),--context env=$(ENV) --output cdk.out/$(ENV)) WebhookPipeline-$(ENV)

preflight: install require-env ## Refuse a deploy that cannot succeed (config, account, secrets, bootstrap): make preflight ENV=prod
	$(VENV)/bin/ops preflight --env $(ENV)

smoke: install require-env ## A synthetic ping through every pipeline of a deployed env: make smoke ENV=prod
	$(VENV)/bin/ops smoke --env $(ENV)

clean: ## Remove build output (not the installs)
	rm -rf cdk.out .local .pytest_cache .mypy_cache .ruff_cache bench/smoke
