using System;
using System.IO;
using System.Runtime.Serialization.Json;
using System.Text;

namespace Tds.Plugins.Core
{
    /// <summary>JSON through DataContractJsonSerializer: part of .NET Framework, .NET 8 and Mono, so
    /// the plugins ship no JSON library that could clash with another add-in's copy.</summary>
    public static class Json
    {
        static DataContractJsonSerializer Serializer<T>()
        {
            return new DataContractJsonSerializer(typeof(T), new DataContractJsonSerializerSettings
            {
                UseSimpleDictionaryFormat = true,
            });
        }

        /// <summary>Throws SerializationException (or XmlException) on anything that is not such JSON.</summary>
        public static T Parse<T>(string text) where T : class
        {
            if (string.IsNullOrWhiteSpace(text)) return null;
            using (var stream = new MemoryStream(Encoding.UTF8.GetBytes(text)))
            {
                return (T)Serializer<T>().ReadObject(stream);
            }
        }

        /// <summary>The value, or null when the text is not JSON of that shape (an HTML error page, an empty body).</summary>
        public static T TryParse<T>(string text) where T : class
        {
            // DataContractJsonSerializer reads "[]" into an empty object: only objects are ours.
            if (text == null || !text.TrimStart().StartsWith("{", StringComparison.Ordinal)) return null;
            try
            {
                return Parse<T>(text);
            }
            catch (Exception)
            {
                return null; // SerializationException, XmlException, InvalidCastException… all mean "not ours"
            }
        }

        public static string Write<T>(T value)
        {
            using (var stream = new MemoryStream())
            {
                Serializer<T>().WriteObject(stream, value);
                return Encoding.UTF8.GetString(stream.ToArray());
            }
        }
    }
}
