using System.Buffers;
using System.Security.Cryptography;
using Microsoft.EntityFrameworkCore;
using Registry.Core.Content;
using Registry.Core.Errors;
using Registry.Data;
using Registry.Data.Entities;
using Registry.Storage;

namespace Registry.Distribution;

/// <summary>
/// Blob uploads: sessions in the database, bytes in the blob store, the digest computed while the
/// bytes stream through. Nothing becomes a blob until its digest and size are verified.
/// </summary>
internal sealed class UploadService(
    RegistryDbContext db,
    RepositoryStore repositories,
    BlobIndex blobs,
    IBlobStore store,
    UploadHashCache hashes,
    ICommitDurability durability,
    IWriteGate writes,
    TimeProvider clock)
{
    private static readonly CompiledQuery<Func<RegistryDbContext, string, string, Task<UploadSessionEntity?>>> FindQuery =
        new(() => EF.CompileAsyncQuery((RegistryDbContext db, string repository, string id) =>
            db.UploadSessions.AsNoTracking().FirstOrDefault(u => u.Id == id && db.Repositories.Any(r => r.Id == u.RepositoryId && r.Name == repository))));

    public async Task<UploadSessionEntity> StartAsync(string repository, CancellationToken cancellationToken)
    {
        var repositoryId = await repositories.EnsureAsync(repository, cancellationToken);
        var now = clock.GetUtcNow().UtcDateTime;
        var session = new UploadSessionEntity { Id = Guid.NewGuid().ToString("D"), RepositoryId = repositoryId, Offset = 0, StartedAt = now, UpdatedAt = now };
        await store.StartUploadAsync(session.Id, cancellationToken);
        await writes.RunAsync(
            () => db.Database.ExecuteSqlAsync(
                $"""INSERT INTO "UploadSessions" ("Id", "RepositoryId", "Offset", "StartedAt", "UpdatedAt") VALUES ({session.Id}, {repositoryId}, 0, {now}, {now})""",
                cancellationToken),
            cancellationToken);
        return session;
    }

    /// <summary>The session <paramref name="id"/> if it belongs to <paramref name="repository"/>.</summary>
    public Task<UploadSessionEntity?> FindAsync(string repository, string id) => FindQuery.For(db)(db, repository, id);

    /// <summary>
    /// Appends a chunk at the session's offset. With a Content-Range the chunk must start exactly
    /// there (416 otherwise) and be exactly as long as it says. A chunk that fails leaves the
    /// session as it was.
    /// </summary>
    public async Task<OciError?> AppendAsync(UploadSessionEntity session, Stream body, ContentRange? range, long? contentLength, CancellationToken cancellationToken)
    {
        if (range is { } r)
        {
            if (r.Start != session.Offset)
            {
                return new OciError(OciErrorCode.BlobUploadInvalid, "chunk does not start at the upload's current offset", $"expected start {session.Offset}, got {r.Start}", 416);
            }

            if (contentLength is { } length && length != r.Length)
            {
                return new OciError(OciErrorCode.BlobUploadInvalid, "Content-Length does not match Content-Range", $"Content-Range covers {r.Length} bytes, Content-Length is {length}");
            }
        }

        var current = Progress(session);
        var hash = hashes.Take(session.Id, current.Length) ?? await RehashAsync(session.Id, current, HashAlgorithmName.SHA256, cancellationToken);
        UploadProgress written;
        try
        {
            written = await store.WriteUploadAsync(session.Id, current, new HashingReadStream(body, hash), cancellationToken);
        }
        catch (UploadBusyException)
        {
            hash.Dispose();
            return new OciError(OciErrorCode.BlobUploadInvalid, "another chunk of this upload is being written", session.Id, 416);
        }
        catch
        {
            hash.Dispose();
            throw;
        }

        // Not recording the new progress is what rolls a rejected chunk back: the store disregards what lies past the acknowledged bytes.
        var received = written.Length - current.Length;
        if (range is { } expected && received != expected.Length)
        {
            hash.Dispose();
            return new OciError(OciErrorCode.BlobUploadInvalid, "chunk length does not match Content-Range", $"Content-Range covers {expected.Length} bytes, received {received}");
        }

        var now = clock.GetUtcNow().UtcDateTime;
        var updated = await writes.RunAsync(
            () => db.Database.ExecuteSqlAsync(
                $"""UPDATE "UploadSessions" SET "Offset" = {written.Length}, "StorageState" = {written.State}, "UpdatedAt" = {now} WHERE "Id" = {session.Id} AND "Offset" = {current.Length}""",
                CancellationToken.None),
            CancellationToken.None);
        if (updated == 0)
        {
            hash.Dispose();
            return new OciError(OciErrorCode.BlobUploadInvalid, "the upload was changed concurrently", session.Id, 416);
        }

        session.Offset = written.Length;
        session.StorageState = written.State;
        hashes.Put(session.Id, written.Length, hash);
        return null;
    }

    /// <summary>
    /// Finishes an upload: verifies the whole content against <paramref name="digest"/>, stores it as that blob
    /// and links it into the repository. On a mismatch the upload is discarded and nothing is stored.
    /// </summary>
    public async Task<OciError?> CompleteAsync(UploadSessionEntity session, Digest digest, CancellationToken cancellationToken)
    {
        var current = Progress(session);
        IncrementalHash hash = digest.Algorithm == Digest.Sha256 ? hashes.Take(session.Id, current.Length) ?? await RehashAsync(session.Id, current, HashAlgorithmName.SHA256, cancellationToken)
            : await RehashAsync(session.Id, current, digest.HashAlgorithm, cancellationToken);
        Digest actual;
        using (hash)
        {
            actual = Digest.FromHash(digest.Algorithm, hash.GetHashAndReset());
        }

        if (!actual.Equals(digest))
        {
            await CancelAsync(session, CancellationToken.None);
            return OciError.DigestInvalid($"expected {digest}, content has {actual}");
        }

        await writes.RunAsync(() => blobs.ClaimAsync(digest, current.Length, cancellationToken), cancellationToken);
        await store.CommitUploadAsync(session.Id, current, digest, cancellationToken);
        await writes.RunAsync(
            async () =>
            {
                await using var transaction = await db.Database.BeginTransactionAsync(CancellationToken.None);
                await blobs.LinkAsync(session.RepositoryId, digest, CancellationToken.None);
                await DeleteSessionRowAsync(session.Id, CancellationToken.None);
                await transaction.CommitAsync(CancellationToken.None);
            },
            CancellationToken.None);
        await durability.EnsureDurableAsync(CancellationToken.None);
        return null;
    }

    /// <summary>Stores a whole blob sent in one request (<c>POST ?digest=</c>) without a session row.</summary>
    public async Task<OciError?> PutMonolithicAsync(string repository, Digest digest, Stream body, CancellationToken cancellationToken)
    {
        var repositoryId = await repositories.EnsureAsync(repository, cancellationToken);
        var uploadId = Guid.NewGuid().ToString("D");
        await store.StartUploadAsync(uploadId, cancellationToken);
        try
        {
            using var hash = IncrementalHash.CreateHash(digest.HashAlgorithm);
            var written = await store.WriteUploadAsync(uploadId, UploadProgress.Empty, new HashingReadStream(body, hash), cancellationToken);
            var actual = Digest.FromHash(digest.Algorithm, hash.GetHashAndReset());
            if (!actual.Equals(digest))
            {
                return OciError.DigestInvalid($"expected {digest}, content has {actual}");
            }

            await writes.RunAsync(() => blobs.ClaimAsync(digest, written.Length, cancellationToken), cancellationToken);
            await store.CommitUploadAsync(uploadId, written, digest, cancellationToken);
            await writes.RunAsync(() => blobs.LinkAsync(repositoryId, digest, CancellationToken.None), CancellationToken.None);
            await durability.EnsureDurableAsync(CancellationToken.None);
            return null;
        }
        finally
        {
            await store.DeleteUploadAsync(uploadId, CancellationToken.None);
        }
    }

    public async Task CancelAsync(UploadSessionEntity session, CancellationToken cancellationToken)
    {
        hashes.Forget(session.Id);
        await writes.RunAsync(() => DeleteSessionRowAsync(session.Id, cancellationToken), cancellationToken);
        await store.DeleteUploadAsync(session.Id, cancellationToken);
    }

    // Raw statements on the upload hot path: a LINQ bulk update or delete costs a query-cache lookup per call.
    private Task<int> DeleteSessionRowAsync(string id, CancellationToken cancellationToken) =>
        db.Database.ExecuteSqlAsync($"""DELETE FROM "UploadSessions" WHERE "Id" = {id}""", cancellationToken);

    private static UploadProgress Progress(UploadSessionEntity session) => new(session.Offset, session.StorageState);

    private async Task<IncrementalHash> RehashAsync(string uploadId, UploadProgress current, HashAlgorithmName algorithm, CancellationToken cancellationToken)
    {
        var hash = IncrementalHash.CreateHash(algorithm);
        if (current.Length == 0)
        {
            return hash;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(1024 * 1024);
        try
        {
            await using var stream = await store.OpenUploadReadAsync(uploadId, current, cancellationToken);
            int read;
            while ((read = await stream.ReadAsync(buffer, cancellationToken)) > 0)
            {
                hash.AppendData(buffer, 0, read);
            }

            return hash;
        }
        catch
        {
            hash.Dispose();
            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
