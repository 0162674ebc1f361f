namespace Registry.Data.Entities;

/// <summary>
/// A blob linked into a repository: a blob is readable only through repositories that link it,
/// so knowing a digest never grants access to another repository's content.
/// </summary>
public sealed class RepositoryBlobEntity
{
    public long RepositoryId { get; set; }

    public required string Digest { get; set; }

    public DateTime LinkedAt { get; set; }
}
