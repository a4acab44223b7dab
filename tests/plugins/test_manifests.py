"""The hosts' manifests and project files, parsed and checked: what CI can say about the parts of
the Rhino, Revit and AutoCAD plugins that only build on Windows/macOS with the hosts' SDKs."""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from .tools import PLUGINS

DOTNET = PLUGINS / "dotnet"
REVIT = DOTNET / "Tds.Revit"
AUTOCAD = DOTNET / "Tds.AutoCAD"
RHINO = DOTNET / "Tds.Rhino"
MSBUILD_XMLNS = re.compile(r"^\{.*\}")


def text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def is_guid(value: str) -> bool:
    try:
        uuid.UUID(value.strip("{}"))
    except ValueError:
        return False
    return True


def defines(folder: Path, class_name: str, base: str) -> bool:
    pattern = rf"\bclass {re.escape(class_name)}\s*:\s*[^{{]*\b{re.escape(base)}\b"
    return any(re.search(pattern, text(path)) for path in folder.glob("*.cs"))


def plugin_version() -> str:
    match = re.search(
        r"VERSION = '([^']+)'", text(PLUGINS / "sketchup/src/tds_render/core/version.rb")
    )
    assert match
    return match.group(1)


def test_every_plugin_has_one_version() -> None:
    version = plugin_version()
    assert re.fullmatch(r"\d+\.\d+\.\d+", version)
    found = {
        "sketchup loader": re.findall(
            r"EXTENSION\.version = '([^']+)'", text(PLUGINS / "sketchup/src/tds_render.rb")
        ),
        "C# client": re.findall(
            r'const string Version = "([^"]+)"', text(DOTNET / "Tds.Plugins.Core/TdsClient.cs")
        ),
        "Directory.Build.props": re.findall(
            r"<Version>([^<]+)</Version>", text(DOTNET / "Directory.Build.props")
        ),
        "manifest.yml": [str(yaml.safe_load(text(RHINO / "manifest.yml"))["version"])],
        "PackageContents.xml": [package_contents().get("AppVersion")],
    }
    assert {name: values for name, values in found.items() if values != [version]} == {}


def test_revit_addin_manifest() -> None:
    root = ET.parse(REVIT / "Tds.Revit.addin").getroot()
    assert root.tag == "RevitAddIns"
    addins = root.findall("AddIn")
    assert len(addins) == 1
    addin = addins[0]
    assert addin.get("Type") == "Application"
    fields = {child.tag: (child.text or "").strip() for child in addin}
    assert {"Name", "Assembly", "AddInId", "FullClassName", "VendorId"} <= set(fields)
    assert is_guid(fields["AddInId"])
    assert fields["Assembly"].replace("\\", "/").endswith("/Tds.Revit.dll")
    namespace, _, class_name = fields["FullClassName"].rpartition(".")
    assert namespace == "Tds.Revit"
    assert defines(REVIT, class_name, "IExternalApplication")
    assert re.fullmatch(r"[A-Za-z0-9.]+", fields["VendorId"])
    # The ribbon button runs an IExternalCommand with a transaction mode, as Revit requires.
    assert defines(REVIT, "RenderCommand", "IExternalCommand")
    assert "[Transaction(TransactionMode.Manual)]" in text(REVIT / "RenderCommand.cs")
    assert "ExternalEvent.Create" in text(REVIT / "RevitBridge.cs")


def package_contents() -> ET.Element:
    return ET.parse(AUTOCAD / "Tds.AutoCAD.bundle" / "PackageContents.xml").getroot()


def test_autocad_package_contents() -> None:
    root = package_contents()
    assert root.tag == "ApplicationPackage"
    for attribute in ("SchemaVersion", "AppVersion", "ProductCode", "Name", "AutodeskProduct"):
        assert root.get(attribute), attribute
    assert root.get("AutodeskProduct") == "AutoCAD"
    assert is_guid(root.get("ProductCode", ""))
    assert is_guid(root.get("UpgradeCode", ""))

    commands = set(re.findall(r'\[CommandMethod\("TDS", "(\w+)"', text(AUTOCAD / "Commands.cs")))
    assert commands == {"TDSRENDER"}
    blocks = root.findall("Components")
    assert len(blocks) == 2
    runtimes = {}
    for block in blocks:
        requirements = block.find("RuntimeRequirements")
        assert requirements is not None
        assert requirements.get("OS") == "Win64"
        entry = block.find("ComponentEntry")
        assert entry is not None
        assert entry.get("LoadOnAutoCADStartup") == "True"
        module = entry.get("ModuleName", "")
        assert module.startswith("./Contents/")
        assert module.endswith("/Tds.AutoCAD.dll")
        listed = {command.get("Global") for command in entry.iter("Command")}
        assert listed == commands
        runtimes[requirements.get("SeriesMin")] = (module, requirements.get("SeriesMax"))
    # .NET Framework 4.8 up to AutoCAD 2024 (R24.x), .NET 8 from AutoCAD 2025 (R25.0).
    assert runtimes == {
        "R24.0": ("./Contents/net48/Tds.AutoCAD.dll", "R24.3"),
        "R25.0": ("./Contents/net8/Tds.AutoCAD.dll", None),
    }
    assert "[assembly: ExtensionApplication(typeof(Tds.AutoCAD.App))]" in text(AUTOCAD / "App.cs")
    assert defines(AUTOCAD, "App", "IExtensionApplication")


def test_rhino_yak_manifest() -> None:
    manifest = yaml.safe_load(text(RHINO / "manifest.yml"))
    assert {"name", "version", "authors", "description", "url"} <= set(manifest)
    assert re.fullmatch(r"[a-z0-9][a-z0-9-]*", manifest["name"])
    assert isinstance(manifest["authors"], list)
    assert manifest["authors"]
    assert manifest["url"].startswith("https://")
    assert len(manifest["description"]) > 40
    source = text(RHINO / "TdsRhinoPlugIn.cs")
    guid = re.search(r'\[assembly: Guid\("([^"]+)"\)\]', source)
    assert guid
    assert is_guid(guid.group(1))
    assert defines(RHINO, "TdsRhinoPlugIn", "PlugIn")
    assert defines(RHINO, "TdsRenderCommand", "Command")
    assert "RhinoApp.InvokeOnUiThread" in text(RHINO / "RenderForm.cs")


def msbuild(path: Path) -> ET.Element:
    root = ET.parse(path).getroot()
    for element in root.iter():
        element.tag = MSBUILD_XMLNS.sub("", element.tag)
    return root


def properties(root: ET.Element) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for group in root.findall("PropertyGroup"):
        for prop in group:
            out.setdefault(prop.tag, []).append((prop.text or "").strip())
    return out


@pytest.mark.parametrize(
    ("project", "frameworks", "reference"),
    [
        (RHINO / "Tds.Rhino.csproj", {"net7.0;net48"}, "RhinoCommon"),
        (REVIT / "Tds.Revit.csproj", {"net8.0-windows", "net48"}, "Nice3point.Revit.Api.RevitAPI"),
        (AUTOCAD / "Tds.AutoCAD.csproj", {"net8.0-windows", "net48"}, "AutoCAD.NET"),
    ],
)
def test_adapter_projects(project: Path, frameworks: set[str], reference: str) -> None:
    root = msbuild(project)
    props = properties(root)
    found = set(props.get("TargetFramework", []) + props.get("TargetFrameworks", []))
    assert found == frameworks
    packages = {ref.get("Include"): ref for ref in root.iter("PackageReference")}
    # Host SDKs are compile-time only: the host provides them at run time.
    assert packages[reference].get("ExcludeAssets") == "runtime"
    # The core is compiled in from source: no shared DLL to clash in the host's load context.
    compiled = [item.get("Include", "") for item in root.iter("Compile")]
    assert "..\\Tds.Plugins.Core\\*.cs" in compiled
    third_party = set(packages) - {
        reference,
        "Nice3point.Revit.Api.RevitAPIUI",
        "System.Drawing.Common",
    }
    assert third_party == set(), "the plugins ship no third-party assemblies"


def test_every_project_builds_as_csharp_7_2() -> None:
    props = properties(msbuild(DOTNET / "Directory.Build.props"))
    assert props["LangVersion"] == ["7.2"]
    core = properties(msbuild(DOTNET / "Tds.Plugins.Core" / "Tds.Plugins.Core.csproj"))
    assert core["TargetFrameworks"] == ["netstandard2.0;net48"]
    assert "-langversion:7.2" in text(DOTNET / "build-linux.sh")
