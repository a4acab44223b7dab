using System;

namespace Tds.Plugins.Core
{
    /// <summary>The <c>source</c> each host sends, so the dashboard shows where a render came from.</summary>
    public static class HostSource
    {
        public const string Rhino = "rhino";
        public const string Revit = "revit";
        public const string AutoCad = "autocad";
    }

    /// <summary>The body of POST /api/v1/renders, exactly as plugins/contract/render_request.json.</summary>
    public static class RenderRequest
    {
        public static RenderRequestBody Build(byte[] png, PluginSettings settings, string source,
            string kind = "render", string inputType = "viewport")
        {
            if (png == null || png.Length == 0) throw new ArgumentException("no image", nameof(png));
            if (string.IsNullOrEmpty(source)) throw new ArgumentException("every plugin names its host", nameof(source));
            return new RenderRequestBody
            {
                ImageBase64 = Convert.ToBase64String(png),
                Kind = kind,
                SceneType = settings.SceneType,
                Resolution = settings.Resolution,
                ArchitecturalStyle = Blank(settings.ArchitecturalStyle),
                Lighting = Blank(settings.Lighting),
                Prompt = string.IsNullOrWhiteSpace(settings.Prompt) ? null : settings.Prompt,
                InputType = inputType,
                Project = Blank(settings.Project),
                Source = source,
            };
        }

        public static string ToJson(RenderRequestBody body) => Json.Write(body);

        /// <summary>One key per click, reused by every retry of that click.</summary>
        public static string NewIdempotencyKey() => Guid.NewGuid().ToString();

        static string Blank(string value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
    }
}
