#!/usr/bin/env node
'use strict';
/**
 * Validates rendered Kubernetes manifests (multi-document YAML, e.g. `helm template` output) against the
 * Kubernetes OpenAPI schemas bundled in `kubernetes-models`, and ServiceMonitors against
 * `@kubernetes-models/prometheus-operator`. Any kind without a schema is an error, so nothing passes
 * unvalidated. It also cross-checks references inside each file (Service/PDB/HPA/ServiceMonitor targets,
 * named ports, ConfigMaps used by envFrom), which the schemas cannot see.
 *
 * Note: the schemas check types, formats, enums and required fields; they do not reject unknown fields.
 *
 * Usage: node scripts/validate-manifests.js rendered-a.yaml [rendered-b.yaml …]
 * Prints one summary line per file to stderr; exits 1 when any document is invalid.
 */
const fs = require('node:fs');
const yaml = require('js-yaml');

/** apiVersion → package whose `<apiVersion>/<Kind>` modules export the model classes. */
const CRD_PACKAGES = {
  'monitoring.coreos.com/v1': '@kubernetes-models/prometheus-operator',
};

function loadModel(apiVersion, kind) {
  if (typeof apiVersion !== 'string' || !/^([a-z0-9.-]+\/)?v[0-9]+((alpha|beta)[0-9]+)?$/.test(apiVersion)) {
    throw new Error(`invalid apiVersion ${JSON.stringify(apiVersion)}`);
  }
  if (typeof kind !== 'string' || !/^[A-Z][A-Za-z0-9]*$/.test(kind))
    throw new Error(`invalid kind ${JSON.stringify(kind)}`);
  const pkg = CRD_PACKAGES[apiVersion] ?? 'kubernetes-models';
  let mod;
  try {
    mod = require(`${pkg}/${apiVersion}/${kind}`);
  } catch (err) {
    if (err && (err.code === 'MODULE_NOT_FOUND' || err.code === 'ERR_PACKAGE_PATH_NOT_EXPORTED'))
      throw new Error(`unknown kind ${apiVersion}/${kind}: no schema to validate it`);
    throw err;
  }
  const Model = mod[kind];
  if (typeof Model !== 'function' || Model.apiVersion !== apiVersion || Model.kind !== kind) {
    throw new Error(`unknown kind ${apiVersion}/${kind}: no schema to validate it`);
  }
  return Model;
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

function validateDocument(doc) {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc))
    throw new Error('document is not a mapping');
  const Model = loadModel(doc.apiVersion, doc.kind);
  const name = doc.metadata && doc.metadata.name;
  if (typeof name !== 'string' || !DNS_SUBDOMAIN.test(name))
    throw new Error(`metadata.name ${JSON.stringify(name)} is not a valid name`);
  new Model(doc).validate();
}

const matches = (selector, labels) =>
  !!selector &&
  Object.keys(selector).length > 0 &&
  Object.entries(selector).every(([k, v]) => (labels ?? {})[k] === v);

/** Reference checks between the objects of one file. Returns a list of error messages. */
function crossCheck(objects) {
  const errors = [];
  const byKind = (kind) => objects.filter((o) => o.kind === kind);
  const workloads = byKind('Deployment');
  const configMaps = new Set(byKind('ConfigMap').map((o) => o.metadata.name));
  const services = byKind('Service');

  for (const d of workloads) {
    const where = `Deployment/${d.metadata.name}`;
    const podLabels = d.spec.template?.metadata?.labels;
    if (!matches(d.spec.selector?.matchLabels, podLabels))
      errors.push(`${where}: selector does not match the pod template labels`);
    for (const c of d.spec.template?.spec?.containers ?? []) {
      const portNames = new Set((c.ports ?? []).map((p) => p.name).filter(Boolean));
      for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
        const port = c[probe]?.httpGet?.port;
        if (typeof port === 'string' && !portNames.has(port))
          errors.push(`${where}: ${c.name}.${probe} uses unknown port "${port}"`);
      }
      for (const ef of c.envFrom ?? []) {
        const cm = ef.configMapRef;
        if (cm && !cm.optional && !configMaps.has(cm.name))
          errors.push(`${where}: envFrom ConfigMap "${cm.name}" is not rendered`);
      }
      const mounts = new Set((d.spec.template.spec.volumes ?? []).map((v) => v.name));
      for (const m of c.volumeMounts ?? []) {
        if (!mounts.has(m.name)) errors.push(`${where}: volumeMount "${m.name}" has no volume`);
      }
    }
  }
  const podsOf = (selector) => workloads.filter((d) => matches(selector, d.spec.template?.metadata?.labels));

  for (const s of services) {
    const targets = podsOf(s.spec.selector);
    if (targets.length === 0) {
      errors.push(`Service/${s.metadata.name}: selector matches no rendered pod template`);
      continue;
    }
    for (const p of s.spec.ports ?? []) {
      if (typeof p.targetPort !== 'string') continue;
      const found = targets.some((d) =>
        d.spec.template.spec.containers.some((c) => (c.ports ?? []).some((cp) => cp.name === p.targetPort)),
      );
      if (!found)
        errors.push(`Service/${s.metadata.name}: targetPort "${p.targetPort}" is not a named container port`);
    }
  }
  for (const pdb of byKind('PodDisruptionBudget')) {
    if (podsOf(pdb.spec.selector?.matchLabels).length === 0)
      errors.push(`PodDisruptionBudget/${pdb.metadata.name}: selector matches no rendered pod template`);
    if (pdb.spec.minAvailable !== undefined && pdb.spec.maxUnavailable !== undefined) {
      errors.push(
        `PodDisruptionBudget/${pdb.metadata.name}: minAvailable and maxUnavailable are mutually exclusive`,
      );
    }
  }
  for (const hpa of byKind('HorizontalPodAutoscaler')) {
    const ref = hpa.spec.scaleTargetRef;
    if (!objects.some((o) => o.kind === ref.kind && o.metadata.name === ref.name)) {
      errors.push(
        `HorizontalPodAutoscaler/${hpa.metadata.name}: scaleTargetRef ${ref.kind}/${ref.name} is not rendered`,
      );
    }
    if (hpa.spec.minReplicas > hpa.spec.maxReplicas)
      errors.push(`HorizontalPodAutoscaler/${hpa.metadata.name}: minReplicas > maxReplicas`);
    for (const d of workloads.filter((w) => w.metadata.name === ref.name && w.spec.replicas !== undefined)) {
      errors.push(`Deployment/${d.metadata.name}: sets spec.replicas although an HPA scales it`);
    }
  }
  for (const ing of byKind('Ingress')) {
    for (const rule of ing.spec.rules ?? []) {
      for (const p of rule.http?.paths ?? []) {
        const svc = services.find((s) => s.metadata.name === p.backend.service?.name);
        if (!svc)
          errors.push(
            `Ingress/${ing.metadata.name}: backend service "${p.backend.service?.name}" is not rendered`,
          );
        else if (
          !(svc.spec.ports ?? []).some(
            (sp) => sp.port === p.backend.service.port?.number || sp.name === p.backend.service.port?.name,
          )
        ) {
          errors.push(
            `Ingress/${ing.metadata.name}: backend port is not a port of Service/${svc.metadata.name}`,
          );
        }
      }
    }
  }
  for (const sm of byKind('ServiceMonitor')) {
    const targets = services.filter((s) => matches(sm.spec.selector?.matchLabels, s.metadata.labels));
    if (targets.length === 0)
      errors.push(`ServiceMonitor/${sm.metadata.name}: selector matches no rendered Service`);
    for (const ep of sm.spec.endpoints ?? []) {
      if (!targets.some((s) => (s.spec.ports ?? []).some((p) => p.name === ep.port))) {
        errors.push(
          `ServiceMonitor/${sm.metadata.name}: endpoint port "${ep.port}" is not a named Service port`,
        );
      }
      if (typeof ep.path === 'string' && !ep.path.startsWith('/'))
        errors.push(`ServiceMonitor/${sm.metadata.name}: endpoint path must start with /`);
    }
  }
  return errors;
}

function validateFile(file) {
  const errors = [];
  let docs;
  try {
    docs = yaml.loadAll(fs.readFileSync(file, 'utf8')).filter((d) => d !== null && d !== undefined);
  } catch (err) {
    return { errors: [`cannot parse: ${err.message}`], kinds: [] };
  }
  if (docs.length === 0) errors.push('no Kubernetes objects found');
  const valid = [];
  const seen = new Set();
  docs.forEach((doc, i) => {
    const id = `#${i + 1} ${doc?.kind ?? '?'}/${doc?.metadata?.name ?? '?'}`;
    try {
      validateDocument(doc);
      const key = `${doc.apiVersion}/${doc.kind}/${doc.metadata.namespace ?? ''}/${doc.metadata.name}`;
      if (seen.has(key)) throw new Error('duplicate object');
      seen.add(key);
      valid.push(doc);
    } catch (err) {
      errors.push(`${id}: ${err.message}`);
    }
  });
  if (errors.length === 0) errors.push(...crossCheck(valid));
  return { errors, kinds: docs.map((d) => d?.kind ?? '?') };
}

function main(files) {
  if (files.length === 0) {
    console.error('usage: node scripts/validate-manifests.js <manifests.yaml>…');
    return 2;
  }
  let failed = 0;
  for (const file of files) {
    const { errors, kinds } = validateFile(file);
    if (errors.length === 0) {
      console.error(`validate-manifests: OK   ${file}: ${kinds.length} objects (${kinds.join(', ')})`);
    } else {
      failed++;
      console.error(`validate-manifests: FAIL ${file}: ${errors.length} error(s)`);
      for (const e of errors) console.error(`  - ${e}`);
    }
  }
  return failed === 0 ? 0 : 1;
}

process.exitCode = main(process.argv.slice(2));
