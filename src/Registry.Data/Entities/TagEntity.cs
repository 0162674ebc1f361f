namespace Registry.Data.Entities;

/// <summary>A tag: a name in a repository pointing at a manifest digest.</summary>
public sealed class TagEntity
{
    public long RepositoryId { get; set; }

    public required string Name { get; set; }

    public required string ManifestDigest { get; set; }

    public DateTime UpdatedAt { get; set; }
}
