#!/usr/bin/env node
// Validates Backstage catalog entity files with Backstage's own validators.
//
// Usage: node validate-entities.mjs FILE.yaml [FILE.yaml ...]
//
// Every YAML document of every file goes through what the catalog backend applies when it
// ingests an entity:
//   1. the entity policies (SchemaValid, DefaultNamespace, NoForeignRootFields, FieldFormat),
//      in the order the catalog builder installs them;
//   2. the kind validators: the built-in kinds of @backstage/catalog-model and the
//      scaffolder Template v1beta3 validator of @backstage/plugin-scaffolder-common. As in
//      the catalog, at least one of them must recognise the entity and none may reject it.
// For Template entities it also checks what the Template schema leaves open but the
// scaffolder form needs: every form property's `default` satisfies the property's own JSON
// Schema (enum, pattern, maxLength...), compiled with Ajv 8 as the form does.
// Duplicate entity refs across the given files are reported too: the catalog would reject
// the second one as a conflict.
//
// Exit codes: 0 every entity passed; 1 at least one violation (each named by file, entity
// and problem on stderr); 2 usage error.

import { readFile } from 'node:fs/promises';
import path from 'node:path';

import {
  DefaultNamespaceEntityPolicy,
  EntityPolicies,
  FieldFormatEntityPolicy,
  NoForeignRootFieldsEntityPolicy,
  SchemaValidEntityPolicy,
  apiEntityV1alpha1Validator,
  componentEntityV1alpha1Validator,
  domainEntityV1alpha1Validator,
  groupEntityV1alpha1Validator,
  locationEntityV1alpha1Validator,
  resourceEntityV1alpha1Validator,
  systemEntityV1alpha1Validator,
  userEntityV1alpha1Validator,
} from '@backstage/catalog-model';
import { templateEntityV1beta3Validator } from '@backstage/plugin-scaffolder-common';
import Ajv from 'ajv';
import { parseAllDocuments } from 'yaml';

const policy = EntityPolicies.allOf([
  new SchemaValidEntityPolicy(),
  new DefaultNamespaceEntityPolicy(),
  new NoForeignRootFieldsEntityPolicy(),
  new FieldFormatEntityPolicy(),
]);

const kindValidators = [
  apiEntityV1alpha1Validator,
  componentEntityV1alpha1Validator,
  domainEntityV1alpha1Validator,
  groupEntityV1alpha1Validator,
  locationEntityV1alpha1Validator,
  resourceEntityV1alpha1Validator,
  systemEntityV1alpha1Validator,
  userEntityV1alpha1Validator,
  templateEntityV1beta3Validator,
];

// `ui:*` keys are RJSF hints, not JSON Schema: strict mode would reject them.
const ajv = new Ajv({ strict: false, allErrors: true });

function entityLabel(entity) {
  if (!entity || typeof entity !== 'object') return '<not an object>';
  const kind = typeof entity.kind === 'string' ? entity.kind.toLowerCase() : '<no kind>';
  const meta = entity.metadata && typeof entity.metadata === 'object' ? entity.metadata : {};
  const namespace = typeof meta.namespace === 'string' ? meta.namespace : 'default';
  const name = typeof meta.name === 'string' ? meta.name : '<no name>';
  return `${kind}:${namespace}/${name}`;
}

function message(error) {
  return error instanceof Error ? error.message : String(error);
}

async function checkKind(entity) {
  const problems = [];
  let recognised = false;
  for (const validator of kindValidators) {
    try {
      if (await validator.check(entity)) recognised = true;
    } catch (error) {
      problems.push(message(error));
    }
  }
  if (!recognised && problems.length === 0) {
    problems.push(
      `no validator recognises apiVersion ${JSON.stringify(entity.apiVersion)} ` +
        `kind ${JSON.stringify(entity.kind)}`,
    );
  }
  return problems;
}

function formPages(parameters) {
  if (Array.isArray(parameters)) return parameters;
  return parameters && typeof parameters === 'object' ? [parameters] : [];
}

// A page's fields, and the fields of each branch of its `dependencies` (shown when the
// field a branch depends on has the branch's value), as [path, key, schema].
function formFields(page, index) {
  const fields = Object.entries(page?.properties ?? {}).map(([key, schema]) => [
    `spec.parameters[${index}].properties.${key}`,
    key,
    schema,
  ]);
  for (const [field, dependency] of Object.entries(page?.dependencies ?? {})) {
    (dependency?.oneOf ?? []).forEach((branch, number) => {
      for (const [key, schema] of Object.entries(branch?.properties ?? {})) {
        const path = `spec.parameters[${index}].dependencies.${field}.oneOf[${number}]`;
        fields.push([`${path}.properties.${key}`, key, schema]);
      }
    });
  }
  return fields;
}

function defaultsOf(properties) {
  return Object.fromEntries(
    Object.entries(properties ?? {})
      .filter(([, schema]) => schema && typeof schema === 'object' && 'default' in schema)
      .map(([key, schema]) => [key, schema.default]),
  );
}

// The page filled in with its defaults, once per branch (its field set to the branch's
// value), must satisfy the whole page schema: exactly one branch matches it.
function checkBranchDefaults(page, index) {
  const problems = [];
  const dependencies = Object.entries(page?.dependencies ?? {});
  if (dependencies.length === 0) return problems;
  let validate;
  try {
    validate = ajv.compile(page);
  } catch (error) {
    return [`spec.parameters[${index}]: ${message(error)}`];
  }
  for (const [field, dependency] of dependencies) {
    (dependency?.oneOf ?? []).forEach((branch, number) => {
      const values = branch?.properties?.[field]?.enum ?? [];
      for (const value of values) {
        const filled = {
          ...defaultsOf(page.properties),
          ...defaultsOf(branch.properties),
          [field]: value,
        };
        if (!validate(filled)) {
          const why = validate.errors.map(e => `${e.instancePath || 'value'} ${e.message}`);
          problems.push(
            `spec.parameters[${index}].dependencies.${field}.oneOf[${number}]: the defaults ` +
              `with ${field}=${JSON.stringify(value)} are invalid: ${why.join('; ')}`,
          );
        }
      }
    });
  }
  return problems;
}

function checkFormDefaults(entity) {
  const problems = [];
  formPages(entity.spec?.parameters).forEach((page, index) => {
    for (const [path, , schema] of formFields(page, index)) {
      if (!schema || typeof schema !== 'object') continue;
      let validate;
      try {
        validate = ajv.compile(schema);
      } catch (error) {
        problems.push(`${path}: ${message(error)}`);
        continue;
      }
      if (!('default' in schema)) continue;
      if (!validate(schema.default)) {
        const why = validate.errors.map(e => `${e.instancePath || 'value'} ${e.message}`);
        problems.push(
          `${path}: default ${JSON.stringify(schema.default)} is invalid: ${why.join('; ')}`,
        );
      }
    }
    problems.push(...checkBranchDefaults(page, index));
  });
  return problems;
}

async function validateDocument(raw) {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { label: entityLabel(raw), problems: ['document is not a mapping'] };
  }
  // Policies may mutate (DefaultNamespace): keep the caller's data intact.
  const entity = structuredClone(raw);
  const label = entityLabel(entity);
  let enforced;
  try {
    enforced = await policy.enforce(entity);
  } catch (error) {
    return { label, problems: [message(error)] };
  }
  if (!enforced) return { label, problems: ['rejected by the entity policies'] };
  const problems = await checkKind(enforced);
  if (problems.length === 0 && enforced.kind === 'Template') {
    problems.push(...checkFormDefaults(enforced));
  }
  return { label: entityLabel(enforced), problems };
}

async function validateFile(file, seen) {
  const violations = [];
  let entities = 0;
  let text;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    return { entities, violations: [`${file}: cannot read: ${message(error)}`] };
  }
  const documents = parseAllDocuments(text, { prettyErrors: true });
  // `parseAllDocuments` returns an EmptyStream (not an array) for a file with no document.
  const list = Array.isArray(documents) ? documents : [];
  list.forEach((doc, index) => {
    for (const error of doc.errors) {
      violations.push(`${file}: document ${index + 1}: YAML error: ${error.message}`);
    }
  });
  if (violations.length > 0) return { entities, violations };

  for (const [index, doc] of list.entries()) {
    const raw = doc.toJS();
    if (raw === null || raw === undefined) continue; // an empty document, as after a final ---
    entities += 1;
    const { label, problems } = await validateDocument(raw);
    for (const problem of problems) {
      violations.push(`${file}: ${label} (document ${index + 1}): ${problem}`);
    }
    if (problems.length === 0) {
      if (seen.has(label)) {
        violations.push(
          `${file}: ${label} (document ${index + 1}): duplicate entity ref, ` +
            `already defined in ${seen.get(label)}`,
        );
      } else {
        seen.set(label, file);
      }
    }
  }
  if (entities === 0) violations.push(`${file}: no entity found`);
  return { entities, violations };
}

async function main(argv) {
  const files = argv.slice(2);
  if (files.length === 0 || files.includes('-h') || files.includes('--help')) {
    console.error('usage: node validate-entities.mjs FILE.yaml [FILE.yaml ...]');
    return 2;
  }
  const seen = new Map();
  const violations = [];
  let entities = 0;
  for (const file of files) {
    const result = await validateFile(path.normalize(file), seen);
    entities += result.entities;
    violations.push(...result.violations);
  }
  if (violations.length > 0) {
    for (const violation of violations) console.error(violation);
    console.error(`${violations.length} violation(s) in ${files.length} file(s)`);
    return 1;
  }
  console.log(`${entities} entities valid in ${files.length} file(s): ${[...seen.keys()].join(', ')}`);
  return 0;
}

process.exitCode = await main(process.argv);
