using Registry.Core.Content;

namespace Registry.Core.Manifests;

/// <summary>
/// A content descriptor (https://github.com/opencontainers/image-spec/blob/main/descriptor.md):
/// what a manifest says about the content it points to.
/// </summary>
public sealed record Descriptor(string MediaType, Digest Digest, long Size, string? ArtifactType = null, IReadOnlyDictionary<string, string>? Annotations = null);
