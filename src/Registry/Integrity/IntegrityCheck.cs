using System.Buffers;
using System.Security.Cryptography;
using Microsoft.EntityFrameworkCore;
using Registry.Core.Content;
using Registry.Data;
using Registry.Storage;

namespace Registry.Integrity;

/// <summary>What one blob turned out to be.</summary>
internal enum BlobCondition
{
    Intact,
    Missing,
    Corrupt,

    /// <summary>The store refused to give its bytes (an encrypted blob that fails authentication, a master key missing): reported, never removed.</summary>
    Unreadable,
}

/// <summary>A blob that is not intact, and why.</summary>
internal sealed record BlobProblem(string Digest, long Size, BlobCondition Condition, string Detail, bool Quarantined);

/// <summary>Progress of a check: blobs and bytes done of the total.</summary>
internal readonly record struct CheckProgress(long Blobs, long TotalBlobs, long Bytes, long TotalBytes);

/// <summary>The outcome of <see cref="IntegrityCheck.RunAsync"/>.</summary>
internal sealed record IntegrityReport(long Blobs, long Bytes, IReadOnlyList<BlobProblem> Problems);

/// <summary>
/// Verifies every stored blob: reads it whole from the blob store, hashes it and compares digest and
/// size with what the metadata recorded. With quarantine, a corrupt blob's bytes are moved aside to
/// <c>&lt;data&gt;/quarantine/</c> (when they can be read at all) and the blob is removed from the store
/// and the metadata, under its row lock as garbage collection removes blobs: the registry then answers
/// BLOB_UNKNOWN instead of serving bad bytes, and the next push of the blob restores it. A missing blob
/// is forgotten the same way. An unreadable blob is only reported: with the wrong master keys every
/// blob is unreadable, and nothing must be lost to that. A blob touched in the last
/// <see cref="RecentWindow"/> may be mid-push (its row is written before its bytes), so it is reported
/// but left alone; a blob is removed only if, under its row lock, it is unchanged and still found bad.
/// </summary>
internal sealed class IntegrityCheck(IDbContextFactory<RegistryDbContext> dbFactory, IBlobStore store, IRowLocks locks, ICommitDurability durability, TimeProvider clock)
{
    private const int BufferSize = 1 << 20;

    public static readonly TimeSpan RecentWindow = TimeSpan.FromMinutes(10);

    public async Task<IntegrityReport> RunAsync(bool quarantine, string quarantinePath, IProgress<CheckProgress>? progress, CancellationToken cancellationToken)
    {
        List<(string Digest, long Size, DateTime TouchedAt)> blobs;
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            blobs = (await db.Blobs.AsNoTracking().Where(b => !b.Deleting).OrderBy(b => b.Digest).Select(b => new { b.Digest, b.Size, b.TouchedAt }).ToListAsync(cancellationToken))
                .Select(b => (b.Digest, b.Size, b.TouchedAt)).ToList();
        }

        var recent = clock.GetUtcNow().UtcDateTime - RecentWindow;

        var totalBytes = blobs.Sum(b => b.Size);
        var problems = new List<BlobProblem>();
        long done = 0;
        long bytes = 0;
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            foreach (var (digestText, size, touchedAt) in blobs)
            {
                var digest = Digest.Parse(digestText);
                var removable = quarantine && touchedAt < recent;
                var (condition, detail) = await CheckAsync(digest, size, buffer, removable ? quarantinePath : null, cancellationToken);
                if (condition != BlobCondition.Intact)
                {
                    var forgotten = removable && condition != BlobCondition.Unreadable && await ForgetAsync(digest, size, touchedAt, buffer, cancellationToken);
                    problems.Add(new BlobProblem(digestText, size, condition, forgotten || !quarantine ? detail : $"{detail} (left in place: {(condition == BlobCondition.Unreadable ? "unreadable" : "touched in the last 10 minutes, or changed meanwhile")})", forgotten));
                }

                done++;
                bytes += size;
                progress?.Report(new CheckProgress(done, blobs.Count, bytes, totalBytes));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return new IntegrityReport(blobs.Count, totalBytes, problems);
    }

    /// <summary>Reads and hashes one blob; a corrupt one is copied to <paramref name="quarantineFolder"/> as it is read, when given.</summary>
    private async Task<(BlobCondition Condition, string Detail)> CheckAsync(Digest digest, long size, byte[] buffer, string? quarantineFolder, CancellationToken cancellationToken)
    {
        string? copyPath = null;
        try
        {
            await using var stream = await store.OpenReadAsync(digest, cancellationToken);
            if (stream is null)
            {
                return (BlobCondition.Missing, "not in the blob store");
            }

            FileStream? copy = null;
            if (quarantineFolder is not null)
            {
                Directory.CreateDirectory(quarantineFolder);
                copyPath = Path.Combine(quarantineFolder, $"{digest.Algorithm}-{digest.Encoded}");
                copy = new FileStream(copyPath, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous);
            }

            await using (copy)
            {
                using var hash = IncrementalHash.CreateHash(digest.HashAlgorithm);
                long read = 0;
                int count;
                while ((count = await stream.ReadAsync(buffer, cancellationToken)) > 0)
                {
                    hash.AppendData(buffer, 0, count);
                    read += count;
                    if (copy is not null)
                    {
                        await copy.WriteAsync(buffer.AsMemory(0, count), cancellationToken);
                    }
                }

                var actual = Digest.FromHash(digest.Algorithm, hash.GetHashAndReset());
                var detail = read != size ? $"{read} bytes stored, {size} recorded" : !actual.Equals(digest) ? $"content hashes to {actual.Value}" : null;
                if (detail is null)
                {
                    return (BlobCondition.Intact, "");
                }

                copyPath = null;
                return (BlobCondition.Corrupt, detail);
            }
        }
        catch (BlobUnreadableException e)
        {
            return (BlobCondition.Unreadable, e.Message);
        }
        finally
        {
            // A copy is kept only of a corrupt blob.
            if (copyPath is not null && File.Exists(copyPath))
            {
                File.Delete(copyPath);
            }
        }
    }

    /// <summary>
    /// Removes the blob's bytes and its metadata (and so its repository links) under its row lock, if its
    /// row is as it was when checked and the blob is still bad; whether it did.
    /// </summary>
    private async Task<bool> ForgetAsync(Digest digest, long size, DateTime touchedAt, byte[] buffer, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        await db.LockRowsAsync(locks.ForUpdate, "Blobs", "Digest", [digest.Value], cancellationToken);
        var unchanged = await db.Blobs.AnyAsync(b => b.Digest == digest.Value && !b.Deleting && b.TouchedAt == touchedAt && b.Size == size, cancellationToken);
        if (!unchanged || (await CheckAsync(digest, size, buffer, null, cancellationToken)).Condition is BlobCondition.Intact or BlobCondition.Unreadable)
        {
            return false;
        }

        await store.DeleteAsync(digest, cancellationToken);
        await db.Blobs.Where(b => b.Digest == digest.Value).ExecuteDeleteAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        await durability.EnsureDurableAsync(cancellationToken);
        return true;
    }
}
