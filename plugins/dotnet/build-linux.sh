#!/usr/bin/env bash
# The Linux half of the .NET plugins: builds the shared core and its NUnit tests with Mono's mcs,
# type-checks the Windows-only shared UI (WinForms, Credential Manager) against Mono's WinForms,
# runs the tests with nunit-console and prints "N passed, N failed, N skipped".
# The host adapters (Tds.Rhino, Tds.Revit, Tds.AutoCAD) need their hosts' SDKs: they are built on
# Windows/macOS with the .NET SDK (see plugins/README.md), never here.
#
#   plugins/dotnet/build-linux.sh              # build + every test (live tests ignored without a server)
#   TDS_TEST_URL=… TDS_TEST_KEY=… TDS_TEST_EMPTY_KEY=… TDS_TEST_IMAGE=… plugins/dotnet/build-linux.sh
#   TDS_DOTNET_BUILD=/tmp/out plugins/dotnet/build-linux.sh   # build folder (default plugins/dotnet/build)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${TDS_DOTNET_BUILD:-$here/build}"
mkdir -p "$out"
for tool in mcs mono nunit-console; do
    command -v "$tool" >/dev/null || { echo "$tool is missing: run scripts/install-plugin-toolchains" >&2; exit 2; }
done
nunit_framework="$(ls /usr/lib/cli/nunit.framework-2.*/nunit.framework.dll 2>/dev/null | head -n1 || true)"
[ -n "$nunit_framework" ] || nunit_framework="$(pkg-config --variable=Libraries nunit 2>/dev/null | tr ' ' '\n' | grep nunit.framework.dll || true)"
[ -n "$nunit_framework" ] || { echo "nunit.framework.dll not found: install libnunit-cil-dev" >&2; exit 2; }

mcs_flags=(-langversion:7.2 -warnaserror -nologo -debug-)
core_refs=(-r:System.Net.Http.dll -r:System.Runtime.Serialization.dll)

mcs "${mcs_flags[@]}" -target:library -out:"$out/Tds.Plugins.Core.dll" "${core_refs[@]}" \
    -recurse:"$here/Tds.Plugins.Core/*.cs"
mcs "${mcs_flags[@]}" -target:library -out:"$out/Tds.Plugins.Windows.dll" -r:"$out/Tds.Plugins.Core.dll" \
    "${core_refs[@]}" -r:System.Windows.Forms.dll -r:System.Drawing.dll -recurse:"$here/Tds.Plugins.Windows/*.cs"
mcs "${mcs_flags[@]}" -target:library -out:"$out/Tds.Plugins.Core.Tests.dll" -r:"$out/Tds.Plugins.Core.dll" \
    "${core_refs[@]}" -r:System.Xml.dll -r:System.Xml.Linq.dll -r:"$nunit_framework" \
    -recurse:"$here/Tds.Plugins.Core.Tests/*.cs"
cp "$nunit_framework" "$out/"

export TDS_CONTRACT_DIR="${TDS_CONTRACT_DIR:-$(cd "$here/../contract" && pwd)}"
status=0
(cd "$out" && nunit-console -nologo -noshadow -labels -xml:TestResult.xml Tds.Plugins.Core.Tests.dll) || status=$?

# nunit-console 2.6 prints no one-line total that CI can read: count TestResult.xml's cases.
python3 - "$out/TestResult.xml" <<'PY'
import sys
import xml.etree.ElementTree as ET

cases = ET.parse(sys.argv[1]).getroot().iter("test-case")
passed = failed = skipped = 0
for case in cases:
    result = case.get("result", "")
    if result in ("Success", "Passed"):
        passed += 1
    elif result in ("Failure", "Error", "Failed", "NotRunnable"):
        failed += 1
    else:
        skipped += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
PY
exit "$status"
