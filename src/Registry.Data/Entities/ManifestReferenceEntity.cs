namespace Registry.Data.Entities;

/// <summary>Something a manifest points to: a blob (config, layer) or a child manifest of an index.</summary>
public sealed class ManifestReferenceEntity
{
    public long ManifestId { get; set; }

    public required string Digest { get; set; }

    public ReferenceKind Kind { get; set; }
}

public enum ReferenceKind
{
    Blob = 0,
    Manifest = 1,
}
