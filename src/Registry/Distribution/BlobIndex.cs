using Microsoft.EntityFrameworkCore;
using Registry.Core.Content;
using Registry.Data;

namespace Registry.Distribution;

/// <summary>Which blobs exist and which repositories link them.</summary>
internal sealed class BlobIndex(RegistryDbContext db, ICommitDurability durability, IRowLocks locks, IWriteGate writes, TimeProvider clock)
{
    private static readonly CompiledQuery<Func<RegistryDbContext, string, string, Task<long>>> LinkedSizeQuery =
        new(() => EF.CompileAsyncQuery((RegistryDbContext db, string repository, string digest) =>
            (from link in db.RepositoryBlobs
             join repo in db.Repositories on link.RepositoryId equals repo.Id
             join blob in db.Blobs on link.Digest equals blob.Digest
             where repo.Name == repository && link.Digest == digest && !blob.Deleting
             select blob.Size + 1).FirstOrDefault()));

    /// <summary>The size of a blob linked into <paramref name="repository"/>, or null when it is not readable there.</summary>
    public async Task<long?> FindLinkedSizeAsync(string repository, Digest digest)
    {
        // +1 so that "no row" (0) differs from an empty blob.
        var sizePlusOne = await LinkedSizeQuery.For(db)(db, repository, digest.Value);
        return sizePlusOne == 0 ? null : sizePlusOne - 1;
    }

    /// <summary>
    /// Digest and size of the given blobs that are linked into the repository, held against garbage
    /// collection until the caller's transaction ends.
    /// </summary>
    public async Task<Dictionary<string, long>> LockLinkedAsync(long repositoryId, IReadOnlyList<string> digests, CancellationToken cancellationToken)
    {
        await db.LockRowsAsync(locks.ForShare, "Blobs", "Digest", digests.ToArray<object>(), cancellationToken);
        return await (from link in db.RepositoryBlobs
                      join blob in db.Blobs on link.Digest equals blob.Digest
                      where link.RepositoryId == repositoryId && digests.Contains(link.Digest) && !blob.Deleting
                      select new { blob.Digest, blob.Size }).ToDictionaryAsync(b => b.Digest, b => b.Size, cancellationToken);
    }

    /// <summary>
    /// Records that the blob's bytes are about to be stored: a new row, or a fresh grace period that
    /// also stops a deletion the collector has not carried out yet. It comes before the bytes are
    /// stored, so the collector never deletes what an upload is committing. Runs in the caller's write turn.
    /// </summary>
    public async Task ClaimAsync(Digest digest, long size, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        await db.Database.ExecuteSqlAsync(
            $"""
            INSERT INTO "Blobs" ("Digest", "Size", "CreatedAt", "TouchedAt", "Deleting") VALUES ({digest.Value}, {size}, {now}, {now}, {false})
            ON CONFLICT ("Digest") DO UPDATE SET "TouchedAt" = excluded."TouchedAt", "Deleting" = excluded."Deleting"
            """,
            cancellationToken);
    }

    /// <summary>Links a claimed blob into a repository (in the caller's write turn).</summary>
    public async Task LinkAsync(long repositoryId, Digest digest, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        await db.Database.ExecuteSqlAsync(
            $"""INSERT INTO "RepositoryBlobs" ("RepositoryId", "Digest", "LinkedAt") VALUES ({repositoryId}, {digest.Value}, {now}) ON CONFLICT ("RepositoryId", "Digest") DO UPDATE SET "LinkedAt" = excluded."LinkedAt" """,
            cancellationToken);
    }

    /// <summary>Unlinks a blob from a repository; true when it was linked. The bytes stay until garbage collection.</summary>
    public async Task<bool> UnlinkAsync(string repository, Digest digest, CancellationToken cancellationToken)
    {
        var unlinked = await writes.RunAsync(
            () => db.RepositoryBlobs
                .Where(l => l.Digest == digest.Value && db.Repositories.Any(r => r.Id == l.RepositoryId && r.Name == repository))
                .ExecuteDeleteAsync(cancellationToken),
            cancellationToken) > 0;
        await durability.EnsureDurableAsync(CancellationToken.None);
        return unlinked;
    }

    /// <summary>
    /// Links a blob stored for another repository into this one (a cross-repository mount), durably and
    /// with a fresh grace period; false when garbage collection is deleting the blob.
    /// </summary>
    public async Task<bool> MountAsync(long repositoryId, Digest digest, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var mounted = await writes.RunAsync(
            async () =>
            {
                var touched = await db.Database.ExecuteSqlAsync(
                    $"""UPDATE "Blobs" SET "TouchedAt" = {now} WHERE "Digest" = {digest.Value} AND NOT "Deleting" """,
                    cancellationToken);
                if (touched == 0)
                {
                    return false;
                }

                await LinkAsync(repositoryId, digest, cancellationToken);
                return true;
            },
            cancellationToken);
        if (mounted)
        {
            await durability.EnsureDurableAsync(CancellationToken.None);
        }

        return mounted;
    }

    /// <summary>Names of up to <paramref name="limit"/> repositories that link the blob, for automatic cross-mounting.</summary>
    public Task<List<string>> FindRepositoriesLinkingAsync(Digest digest, int limit, CancellationToken cancellationToken) =>
        (from link in db.RepositoryBlobs
         join repo in db.Repositories on link.RepositoryId equals repo.Id
         where link.Digest == digest.Value
         orderby repo.Name
         select repo.Name).Take(limit).ToListAsync(cancellationToken);
}
