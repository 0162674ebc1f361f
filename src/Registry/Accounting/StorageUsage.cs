using Microsoft.EntityFrameworkCore;
using Registry.Data;

namespace Registry.Accounting;

/// <summary>
/// Storage used by one repository: each blob it links counted once however many of its manifests
/// share it, plus its manifests' bytes (manifests live in the database).
/// </summary>
internal sealed record RepositoryUsage(string Name, long BlobCount, long BlobBytes, long ManifestCount, long ManifestBytes)
{
    public long TotalBytes => BlobBytes + ManifestBytes;
}

/// <summary>
/// Storage used by the whole registry: each blob counted once however many repositories link it, so
/// the total is less than the sum over repositories when they share layers.
/// </summary>
internal sealed record RegistryUsage(long RepositoryCount, long BlobCount, long BlobBytes, long ManifestCount, long ManifestBytes)
{
    public long TotalBytes => BlobBytes + ManifestBytes;
}

/// <summary>
/// Storage accounting from the metadata, which records every stored blob's size: exact once garbage
/// collection has removed what nothing references (until then, unreferenced blobs in their grace
/// period count too, because they still occupy the store).
/// </summary>
internal sealed class StorageUsage(RegistryDbContext db)
{
    public async Task<RegistryUsage> TotalAsync(CancellationToken cancellationToken)
    {
        var blobs = db.Blobs.Where(b => !b.Deleting);
        var blobCount = await blobs.LongCountAsync(cancellationToken);
        var blobBytes = await blobs.SumAsync(b => (long?)b.Size, cancellationToken) ?? 0;
        var manifestCount = await db.Manifests.LongCountAsync(cancellationToken);
        var manifestBytes = await db.Manifests.SumAsync(m => (long?)m.Content.Length, cancellationToken) ?? 0;
        var repositories = await db.Repositories.LongCountAsync(cancellationToken);
        return new RegistryUsage(repositories, blobCount, blobBytes, manifestCount, manifestBytes);
    }

    /// <summary>Repositories after <paramref name="last"/> in name order, at most <paramref name="limit"/> (one more tells the caller there is a next page).</summary>
    public Task<List<RepositoryUsage>> ListAsync(string? last, int limit, CancellationToken cancellationToken)
    {
        var repositories = db.Repositories.AsQueryable();
        if (last is not null)
        {
            repositories = repositories.Where(r => string.Compare(r.Name, last) > 0);
        }

        return Measure(repositories.OrderBy(r => r.Name).Take(limit)).ToListAsync(cancellationToken);
    }

    /// <summary>One repository's usage, or null when there is no such repository.</summary>
    public Task<RepositoryUsage?> FindAsync(string repository, CancellationToken cancellationToken) =>
        Measure(db.Repositories.Where(r => r.Name == repository)).FirstOrDefaultAsync(cancellationToken);

    private IQueryable<RepositoryUsage> Measure(IQueryable<Data.Entities.RepositoryEntity> repositories) =>
        from r in repositories
        select new RepositoryUsage(
            r.Name,
            db.RepositoryBlobs.Count(l => l.RepositoryId == r.Id && db.Blobs.Any(b => b.Digest == l.Digest && !b.Deleting)),
            (from l in db.RepositoryBlobs
             join b in db.Blobs on l.Digest equals b.Digest
             where l.RepositoryId == r.Id && !b.Deleting
             select b.Size).Sum(),
            db.Manifests.Count(m => m.RepositoryId == r.Id),
            db.Manifests.Where(m => m.RepositoryId == r.Id).Sum(m => (long)m.Content.Length));
}
