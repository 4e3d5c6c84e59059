// Compiles a folder's .py files with CPython 3.14 (pyodide, WASM, pinned in package.json) into
// unchecked-hash pycs beside them, for Lambda's Python 3.14 runtime. Run by infra/bytecode.py:
//   node infra/compile_bytecode.mjs <folder> <deployed path, e.g. /opt/python>
// Prints one JSON report on stdout (see infra/pyc_compile.py) and exits 1 if anything failed.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { loadPyodide } from "pyodide";

const [folder, deployedAs] = process.argv.slice(2);
if (!folder || !deployedAs) {
  console.error("usage: node compile_bytecode.mjs <folder> <deployed path>");
  process.exit(2);
}
// A fixed hash seed: the order of set and frozenset constants in a pyc follows string hashes.
const pyodide = await loadPyodide({
  env: { PYTHONHASHSEED: "0" },
  stdout: (line) => console.error(line),
  stderr: (line) => console.error(line),
});
pyodide.FS.mkdirTree("/tree");
pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: resolve(folder) }, "/tree");
pyodide.FS.mkdirTree("/compiler");
const compiler = new URL("./pyc_compile.py", import.meta.url);
pyodide.FS.writeFile("/compiler/pyc_compile.py", readFileSync(compiler, "utf8"));
pyodide.globals.set("deployed_as", deployedAs);
const report = pyodide.runPython(`
import json, sys
sys.dont_write_bytecode = True
sys.path.insert(0, "/compiler")
from pathlib import Path
import pyc_compile
json.dumps(pyc_compile.compile_tree(Path("/tree"), deployed_as), sort_keys=True)
`);
pyodide.FS.unmount("/tree");
console.log(report);
process.exit(Object.keys(JSON.parse(report).failures).length === 0 ? 0 : 1);
