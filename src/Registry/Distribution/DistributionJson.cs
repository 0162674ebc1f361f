using System.Text.Json.Serialization;

namespace Registry.Distribution;

/// <summary>Response bodies of the distribution API, serialized by source-generated code.</summary>
internal sealed record TagList([property: JsonPropertyName("name")] string Name, [property: JsonPropertyName("tags")] IReadOnlyList<string> Tags);

internal sealed record Catalog([property: JsonPropertyName("repositories")] IReadOnlyList<string> Repositories);

internal sealed record ReferrerDescriptor(
    [property: JsonPropertyName("mediaType")] string MediaType,
    [property: JsonPropertyName("digest")] string Digest,
    [property: JsonPropertyName("size")] long Size,
    [property: JsonPropertyName("artifactType"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ArtifactType,
    [property: JsonPropertyName("annotations"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyDictionary<string, string>? Annotations);

internal sealed record ReferrersIndex(
    [property: JsonPropertyName("schemaVersion")] int SchemaVersion,
    [property: JsonPropertyName("mediaType")] string MediaType,
    [property: JsonPropertyName("manifests")] IReadOnlyList<ReferrerDescriptor> Manifests);

[JsonSerializable(typeof(TagList))]
[JsonSerializable(typeof(Catalog))]
[JsonSerializable(typeof(ReferrersIndex))]
[JsonSerializable(typeof(IReadOnlyDictionary<string, string>))]
internal sealed partial class DistributionJson : JsonSerializerContext;
