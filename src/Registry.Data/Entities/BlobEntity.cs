namespace Registry.Data.Entities;

/// <summary>A blob held by the blob store, by digest. Which repositories may read it is in <see cref="RepositoryBlobEntity"/>.</summary>
public sealed class BlobEntity
{
    public required string Digest { get; set; }

    public long Size { get; set; }

    public DateTime CreatedAt { get; set; }
}
