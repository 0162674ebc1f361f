using System.Text.Json;
using Registry.Core.Content;
using Registry.Core.Errors;

namespace Registry.Core.Manifests;

/// <summary>
/// Validates manifest bytes against the OCI image spec / Docker schema 2 shapes
/// (https://github.com/opencontainers/image-spec/blob/main/manifest.md,
/// https://github.com/opencontainers/image-spec/blob/main/image-index.md).
/// </summary>
public static class ManifestParser
{
    /// <summary>
    /// Parses <paramref name="content"/> sent with <paramref name="contentType"/>. The media type is the
    /// Content-Type; when the body also names one, the two must agree.
    /// </summary>
    public static (ParsedManifest? Manifest, OciError? Error) Parse(ReadOnlySpan<byte> content, string? contentType)
    {
        JsonDocument document;
        try
        {
            var reader = new Utf8JsonReader(content, new JsonReaderOptions { MaxDepth = 64 });
            document = JsonDocument.ParseValue(ref reader);
        }
        catch (JsonException e)
        {
            return (null, OciError.ManifestInvalid($"manifest is not valid JSON: {e.Message}"));
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return (null, OciError.ManifestInvalid("manifest must be a JSON object"));
            }

            try
            {
                return Parse(root, NormalizeContentType(contentType));
            }
            catch (ManifestFormatException e)
            {
                return (null, OciError.ManifestInvalid(e.Message));
            }
        }
    }

    private static (ParsedManifest?, OciError?) Parse(JsonElement root, string? contentType)
    {
        var bodyType = OptionalString(root, "mediaType");
        if (contentType is not null && bodyType is not null && contentType != bodyType)
        {
            throw new ManifestFormatException($"mediaType '{bodyType}' does not match Content-Type '{contentType}'");
        }

        var mediaType = contentType ?? bodyType ?? throw new ManifestFormatException("no media type: send Content-Type or a mediaType field");
        if (!MediaTypes.IsManifest(mediaType))
        {
            return (null, new OciError(OciErrorCode.Unsupported, "unsupported manifest media type", mediaType));
        }

        if (!root.TryGetProperty("schemaVersion", out var schema) || schema.ValueKind != JsonValueKind.Number || !schema.TryGetInt32(out var version) || version != 2)
        {
            throw new ManifestFormatException("schemaVersion must be 2");
        }

        var artifactType = OptionalString(root, "artifactType");
        var subject = root.TryGetProperty("subject", out var subjectElement) && subjectElement.ValueKind != JsonValueKind.Null
            ? ParseDescriptor(subjectElement, "subject")
            : null;
        var annotations = ParseAnnotations(root, "annotations");

        if (MediaTypes.IsIndex(mediaType))
        {
            var manifests = ParseDescriptorArray(root, "manifests", required: true);
            return (new ParsedManifest(mediaType, artifactType, null, [], manifests, subject, annotations), null);
        }

        if (!root.TryGetProperty("config", out var configElement))
        {
            throw new ManifestFormatException("config is required");
        }

        var config = ParseDescriptor(configElement, "config");
        var layers = ParseDescriptorArray(root, "layers", required: true);
        return (new ParsedManifest(mediaType, artifactType, config, layers, [], subject, annotations), null);
    }

    /// <summary>Strips parameters (<c>; charset=utf-8</c>) so media types compare exactly.</summary>
    public static string? NormalizeContentType(string? contentType)
    {
        if (string.IsNullOrWhiteSpace(contentType))
        {
            return null;
        }

        var semicolon = contentType.IndexOf(';', StringComparison.Ordinal);
        return (semicolon >= 0 ? contentType[..semicolon] : contentType).Trim();
    }

    private static List<Descriptor> ParseDescriptorArray(JsonElement root, string property, bool required)
    {
        if (!root.TryGetProperty(property, out var array) || array.ValueKind == JsonValueKind.Null)
        {
            return required ? throw new ManifestFormatException($"{property} is required") : [];
        }

        if (array.ValueKind != JsonValueKind.Array)
        {
            throw new ManifestFormatException($"{property} must be an array");
        }

        var result = new List<Descriptor>(array.GetArrayLength());
        var index = 0;
        foreach (var item in array.EnumerateArray())
        {
            result.Add(ParseDescriptor(item, $"{property}[{index++}]"));
        }

        return result;
    }

    private static Descriptor ParseDescriptor(JsonElement element, string path)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new ManifestFormatException($"{path} must be a descriptor object");
        }

        var mediaType = OptionalString(element, "mediaType") ?? throw new ManifestFormatException($"{path}.mediaType is required");
        var digestText = OptionalString(element, "digest") ?? throw new ManifestFormatException($"{path}.digest is required");
        if (!Digest.TryParse(digestText, out var digest))
        {
            throw new ManifestFormatException($"{path}.digest '{digestText}' is not a valid digest");
        }

        if (!element.TryGetProperty("size", out var sizeElement) || sizeElement.ValueKind != JsonValueKind.Number || !sizeElement.TryGetInt64(out var size) || size < 0)
        {
            throw new ManifestFormatException($"{path}.size must be a non-negative integer");
        }

        return new Descriptor(mediaType, digest, size, OptionalString(element, "artifactType"), ParseAnnotations(element, $"{path}.annotations"));
    }

    private static Dictionary<string, string>? ParseAnnotations(JsonElement element, string path)
    {
        if (!element.TryGetProperty("annotations", out var annotations) || annotations.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (annotations.ValueKind != JsonValueKind.Object)
        {
            throw new ManifestFormatException($"{path} must be an object of strings");
        }

        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var property in annotations.EnumerateObject())
        {
            result[property.Name] = property.Value.ValueKind == JsonValueKind.String
                ? property.Value.GetString()!
                : throw new ManifestFormatException($"{path}.{property.Name} must be a string");
        }

        return result;
    }

    private static string? OptionalString(JsonElement element, string property)
    {
        if (!element.TryGetProperty(property, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String ? value.GetString() : throw new ManifestFormatException($"{property} must be a string");
    }

    private sealed class ManifestFormatException(string message) : Exception(message);
}
