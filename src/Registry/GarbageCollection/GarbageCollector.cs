using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Registry.Core.Content;
using Registry.Data;
using Registry.Data.Entities;
using Registry.Distribution;
using Registry.Storage;
using Registry.Observability;

namespace Registry.GarbageCollection;

/// <summary>
/// One garbage collection run, safe while the registry serves: the database names candidates
/// (<see cref="GarbageQueries"/>); each is then locked, checked again and deleted in its own short
/// transaction, so a push that references a candidate meanwhile either wins the lock first (and the
/// candidate is kept) or finds it gone (and is told so). Pushes hold what they reference with shared
/// locks (<see cref="ManifestService"/>) and claim a blob before storing its bytes (<see cref="BlobIndex.ClaimAsync"/>).
/// </summary>
internal sealed class GarbageCollector(
    IDbContextFactory<RegistryDbContext> dbFactory,
    IBlobStore store,
    IRowLocks locks,
    ICommitDurability durability,
    ManifestCache manifestCache,
    IOptions<GarbageCollectionOptions> options,
    TimeProvider clock,
    RegistryMetrics metrics)
{
    /// <summary>
    /// One run; a real one (not <paramref name="dryRun"/>) is counted in the GC metrics, and
    /// <paramref name="progress"/> is told how many of the garbage blobs have been removed.
    /// </summary>
    public async Task<GarbageReport> RunAsync(bool dryRun, CancellationToken cancellationToken, IProgress<(int Done, int Total)>? progress = null)
    {
        if (dryRun)
        {
            return await CollectAsync(dryRun, progress, cancellationToken);
        }

        try
        {
            var report = await CollectAsync(dryRun, progress, cancellationToken);
            metrics.GarbageCollectionRuns.WithLabels("completed").Inc();
            metrics.GarbageCollectionFreedBytes.Inc(report.BlobBytes);
            metrics.GarbageCollectionRemovedBlobs.Inc(report.Blobs.Count);
            return report;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            metrics.GarbageCollectionRuns.WithLabels("failed").Inc();
            throw;
        }
    }

    private async Task<GarbageReport> CollectAsync(bool dryRun, IProgress<(int Done, int Total)>? progress, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var cutoff = clock.GetUtcNow().UtcDateTime - settings.GracePeriod;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var manifests = await GarbageQueries.GarbageManifestsAsync(db, cutoff, settings.DeleteUntagged, cancellationToken);
        if (dryRun)
        {
            return new GarbageReport(
                true,
                manifests,
                await GarbageQueries.GarbageBlobsAsync(db, cutoff, settings.DeleteUntagged, cancellationToken),
                await GarbageQueries.StaleLinksAsync(db, cutoff, settings.DeleteUntagged, cancellationToken));
        }

        await FinishDeletionsAsync(cancellationToken);
        var deletedManifests = await DeleteManifestsAsync(manifests, cutoff, cancellationToken);
        var marked = new List<BlobRow>();
        foreach (var blob in await GarbageQueries.GarbageBlobsAsync(db, cutoff, settings.DeleteUntagged, cancellationToken))
        {
            if (await TryMarkBlobAsync(blob.Digest, cutoff, cancellationToken))
            {
                marked.Add(blob);
            }
        }

        // The marks must survive a crash before any bytes go, or a row could outlive its bytes.
        await durability.EnsureDurableAsync(cancellationToken);
        var deletedBlobs = new List<BlobRow>();
        foreach (var (blob, index) in marked.Select((b, i) => (b, i)))
        {
            if (await TryDeleteMarkedBlobAsync(blob.Digest, cancellationToken))
            {
                deletedBlobs.Add(blob);
            }

            progress?.Report((index + 1, marked.Count));
        }

        var prunedLinks = new List<LinkRow>();
        foreach (var link in await GarbageQueries.StaleLinksAsync(db, cutoff, settings.DeleteUntagged, cancellationToken))
        {
            if (await TryPruneLinkAsync(link, cutoff, cancellationToken))
            {
                prunedLinks.Add(link);
            }
        }

        await durability.EnsureDurableAsync(cancellationToken);
        return new GarbageReport(false, deletedManifests, deletedBlobs, prunedLinks);
    }

    /// <summary>Completes deletions a previous run marked but did not finish (a crash, the blob store down).</summary>
    private async Task FinishDeletionsAsync(CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        foreach (var digest in await db.Blobs.Where(b => b.Deleting).Select(b => b.Digest).ToListAsync(cancellationToken))
        {
            await TryDeleteMarkedBlobAsync(digest, cancellationToken);
        }
    }

    /// <summary>
    /// Deletes garbage manifests, parents before children and subjects before referrers: each is
    /// deleted only once nothing in its repository keeps it, so passes repeat until none progresses.
    /// </summary>
    private async Task<List<ManifestRow>> DeleteManifestsAsync(List<ManifestRow> candidates, DateTime cutoff, CancellationToken cancellationToken)
    {
        var deleted = new List<ManifestRow>();
        var pending = candidates;
        while (pending.Count > 0)
        {
            var kept = new List<ManifestRow>();
            foreach (var manifest in pending)
            {
                (await TryDeleteManifestAsync(manifest, cutoff, cancellationToken) ? deleted : kept).Add(manifest);
            }

            if (kept.Count == pending.Count)
            {
                break;
            }

            pending = kept;
        }

        return deleted;
    }

    private async Task<bool> TryDeleteManifestAsync(ManifestRow manifest, DateTime cutoff, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        await db.LockRowsAsync(locks.ForUpdate, "Manifests", "Id", [manifest.Id], cancellationToken);
        var unreachable = await db.Manifests.AnyAsync(
            m => m.Id == manifest.Id
                 && m.TouchedAt < cutoff
                 && !db.Tags.Any(t => t.RepositoryId == m.RepositoryId && t.ManifestDigest == m.Digest)
                 && !db.ManifestReferences.Any(r => r.Kind == ReferenceKind.Manifest && r.Digest == m.Digest
                                                    && db.Manifests.Any(p => p.Id == r.ManifestId && p.RepositoryId == m.RepositoryId))
                 && !(m.SubjectDigest != null && db.Manifests.Any(s => s.RepositoryId == m.RepositoryId && s.Digest == m.SubjectDigest)),
            cancellationToken);
        if (!unreachable)
        {
            return false;
        }

        await db.Manifests.Where(m => m.Id == manifest.Id).ExecuteDeleteAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        manifestCache.Invalidate(manifest.Repository);
        return true;
    }

    /// <summary>Marks an unreferenced blob past its grace period as being deleted; from then on it reads as absent.</summary>
    private async Task<bool> TryMarkBlobAsync(string digest, DateTime cutoff, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        await db.LockRowsAsync(locks.ForUpdate, "Blobs", "Digest", [digest], cancellationToken);
        var marked = await db.Blobs
            .Where(b => b.Digest == digest && !b.Deleting && b.TouchedAt < cutoff
                        && !db.ManifestReferences.Any(r => r.Kind == ReferenceKind.Blob && r.Digest == digest))
            .ExecuteUpdateAsync(b => b.SetProperty(x => x.Deleting, true), cancellationToken) > 0;
        await transaction.CommitAsync(cancellationToken);
        return marked;
    }

    /// <summary>
    /// Deletes a marked blob's bytes, then its row and links, holding the row so that an upload
    /// claiming the same digest waits and then stores the bytes again. An upload that claimed it
    /// before this cleared the mark, and the blob stays.
    /// </summary>
    private async Task<bool> TryDeleteMarkedBlobAsync(string digest, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        await db.LockRowsAsync(locks.ForUpdate, "Blobs", "Digest", [digest], cancellationToken);
        if (!await db.Blobs.AnyAsync(b => b.Digest == digest && b.Deleting, cancellationToken))
        {
            return false;
        }

        await store.DeleteAsync(Digest.Parse(digest), cancellationToken);
        await db.Blobs.Where(b => b.Digest == digest).ExecuteDeleteAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    /// <summary>Unlinks a blob from a repository where nothing references it any more, holding the blob against a manifest push that checks the link.</summary>
    private async Task<bool> TryPruneLinkAsync(LinkRow link, DateTime cutoff, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        await db.LockRowsAsync(locks.ForUpdate, "Blobs", "Digest", [link.Digest], cancellationToken);
        var pruned = await db.RepositoryBlobs
            .Where(l => l.RepositoryId == link.RepositoryId && l.Digest == link.Digest && l.LinkedAt < cutoff
                        && !db.ManifestReferences.Any(r => r.Kind == ReferenceKind.Blob && r.Digest == link.Digest
                                                           && db.Manifests.Any(m => m.Id == r.ManifestId && m.RepositoryId == link.RepositoryId)))
            .ExecuteDeleteAsync(cancellationToken) > 0;
        await transaction.CommitAsync(cancellationToken);
        return pruned;
    }
}
