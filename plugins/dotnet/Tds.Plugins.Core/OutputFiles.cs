using System;
using System.Globalization;
using System.IO;
using System.Text;

namespace Tds.Plugins.Core
{
    public struct PixelSize : IEquatable<PixelSize>
    {
        public PixelSize(int width, int height) { Width = width; Height = height; }
        public int Width { get; }
        public int Height { get; }
        public bool Equals(PixelSize other) => Width == other.Width && Height == other.Height;
        public override bool Equals(object obj) => obj is PixelSize other && Equals(other);
        public override int GetHashCode() => Width * 397 ^ Height;
        public override string ToString() => Width + "×" + Height;
    }

    /// <summary>Where results go and what size to capture: pure functions the adapters call.</summary>
    public static class OutputFiles
    {
        /// <summary>Next to the model: C:\work\house.3dm → C:\work\house-tds-20261128-134906.jpg (then
        /// -2, -3 … when that exists). An unsaved model goes to <paramref name="fallbackDir"/>.</summary>
        public static string PathFor(string modelPath, DateTime time, string fallbackDir, string extension = ".jpg",
            Func<string, bool> exists = null)
        {
            exists = exists ?? File.Exists;
            string dir, stem;
            if (string.IsNullOrEmpty(modelPath))
            {
                if (string.IsNullOrEmpty(fallbackDir)) throw new ArgumentException("an unsaved model needs a fallback folder");
                dir = fallbackDir;
                stem = "untitled";
            }
            else
            {
                dir = Path.GetDirectoryName(modelPath);
                stem = Path.GetFileNameWithoutExtension(modelPath);
            }
            stem = Safe(stem);
            var name = stem + "-tds-" + time.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture);
            var path = Path.Combine(dir, name + extension);
            for (var n = 2; exists(path); n++)
                path = Path.Combine(dir, name + "-" + n.ToString(CultureInfo.InvariantCulture) + extension);
            return path;
        }

        /// <summary>Aspect kept, long edge at the render resolution but at most <paramref name="cap"/>
        /// (the server scales the rest), each side at least 16 px.</summary>
        public static PixelSize CaptureSize(int width, int height, int longEdge, int cap = 2048)
        {
            if (width <= 0 || height <= 0) throw new ArgumentException("the view has no size");
            var scale = Math.Min(longEdge, cap) / (double)Math.Max(width, height);
            return new PixelSize(Math.Max(16, (int)Math.Round(width * scale, MidpointRounding.AwayFromZero)),
                Math.Max(16, (int)Math.Round(height * scale, MidpointRounding.AwayFromZero)));
        }

        /// <summary>The size of PNG bytes, or null when they are not a PNG.</summary>
        public static PixelSize? PngSize(byte[] data)
        {
            byte[] magic = { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A };
            if (data == null || data.Length < 24) return null;
            for (var i = 0; i < magic.Length; i++) if (data[i] != magic[i]) return null;
            if (Encoding.ASCII.GetString(data, 12, 4) != "IHDR") return null;
            return new PixelSize(BigEndian(data, 16), BigEndian(data, 20));
        }

        /// <summary>".jpg", ".png" or ".webp" for image bytes, else null.</summary>
        public static string ImageExtension(byte[] data)
        {
            if (data == null || data.Length < 12) return null;
            if (data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF) return ".jpg";
            if (data[0] == 0x89 && data[1] == 0x50 && data[2] == 0x4E && data[3] == 0x47) return ".png";
            if (Encoding.ASCII.GetString(data, 0, 4) == "RIFF" && Encoding.ASCII.GetString(data, 8, 4) == "WEBP") return ".webp";
            return null;
        }

        static int BigEndian(byte[] data, int offset) =>
            data[offset] << 24 | data[offset + 1] << 16 | data[offset + 2] << 8 | data[offset + 3];

        // The same rule as the SketchUp plugin: letters, digits, space and . _ ( ) - stay; each run of
        // anything else becomes one "_".
        static string Safe(string stem)
        {
            var safe = new StringBuilder();
            var lastWasReplacement = false;
            foreach (var c in stem)
            {
                var keep = char.IsLetterOrDigit(c) || " ._()-".IndexOf(c) >= 0;
                if (!keep && lastWasReplacement) continue;
                safe.Append(keep ? c : '_');
                lastWasReplacement = !keep;
            }
            var result = safe.ToString().Trim();
            return result.Length == 0 ? "untitled" : result;
        }
    }
}
