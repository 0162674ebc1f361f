namespace Registry.Data.Entities;

/// <summary>A blob held by the blob store, by digest. Which repositories may read it is in <see cref="RepositoryBlobEntity"/>.</summary>
public sealed class BlobEntity
{
    public required string Digest { get; set; }

    public long Size { get; set; }

    public DateTime CreatedAt { get; set; }

    /// <summary>
    /// When the blob was last uploaded, mounted, or released by a deleted manifest. Garbage collection
    /// spares it for a grace period after this, so a push that uploaded it and has not yet put its
    /// manifest (or a re-push after a delete) finds it still there.
    /// </summary>
    public DateTime TouchedAt { get; set; }

    /// <summary>
    /// Set by garbage collection before it deletes the bytes: a blob being deleted reads as absent, so
    /// a crash between removing the bytes and removing this row never leaves a readable row without bytes.
    /// </summary>
    public bool Deleting { get; set; }
}
