using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Registry.Core.Content;
using Registry.Core.Errors;
using Registry.Core.Manifests;
using Registry.Core.Names;
using Registry.Data;
using Registry.Data.Entities;

namespace Registry.Distribution;

/// <summary>A manifest as served: the stored bytes, their media type and digest.</summary>
internal sealed record StoredManifest(string Digest, string MediaType, byte[] Content, string? SubjectDigest);

/// <summary>Manifests and tags: validation on push, lookup by tag or digest, deletion.</summary>
internal sealed class ManifestService(RegistryDbContext db, RepositoryStore repositories, BlobIndex blobs, ManifestCache cache, ICommitDurability durability, IRowLocks locks, IWriteGate writes, TimeProvider clock)
{
    private static readonly CompiledQuery<Func<RegistryDbContext, string, string, Task<StoredManifest?>>> ByDigestQuery =
        new(() => EF.CompileAsyncQuery((RegistryDbContext db, string repository, string digest) =>
            (from m in db.Manifests
             join r in db.Repositories on m.RepositoryId equals r.Id
             where r.Name == repository && m.Digest == digest
             select new StoredManifest(m.Digest, m.MediaType, m.Content, m.SubjectDigest)).FirstOrDefault()));

    private static readonly CompiledQuery<Func<RegistryDbContext, string, string, Task<StoredManifest?>>> ByTagQuery =
        new(() => EF.CompileAsyncQuery((RegistryDbContext db, string repository, string tag) =>
            (from t in db.Tags
             join r in db.Repositories on t.RepositoryId equals r.Id
             join m in db.Manifests on new { t.RepositoryId, Digest = t.ManifestDigest } equals new { m.RepositoryId, m.Digest }
             where r.Name == repository && t.Name == tag
             select new StoredManifest(m.Digest, m.MediaType, m.Content, m.SubjectDigest)).FirstOrDefault()));

    public Task<StoredManifest?> FindAsync(string repository, Reference reference) =>
        reference.Digest is { } digest ? ByDigestQuery.For(db)(db, repository, digest.Value) : ByTagQuery.For(db)(db, repository, reference.Tag!);

    /// <summary>
    /// Validates and stores a manifest, and points the tag at it when the reference is a tag.
    /// Everything it references must already be in the repository.
    /// </summary>
    public async Task<(Digest? Digest, ParsedManifest? Manifest, OciError? Error)> PutAsync(
        string repository, Reference reference, byte[] content, string? contentType, CancellationToken cancellationToken)
    {
        var digest = reference.Digest is { Algorithm: Digest.Sha512 } ? HashAs(reference.Digest, content) : Digest.Compute(content);
        if (reference.Digest is { } expected && !expected.Equals(digest))
        {
            return (null, null, OciError.DigestInvalid($"manifest content has digest {digest}, not {expected}"));
        }

        var (manifest, parseError) = ManifestParser.Parse(content, contentType);
        if (manifest is null)
        {
            return (null, null, parseError);
        }

        var repositoryId = await repositories.EnsureAsync(repository, cancellationToken);
        var now = clock.GetUtcNow().UtcDateTime;

        var error = await writes.RunAsync(
            () => ConflictRetry.RunAsync(db, () => StoreAsync(repositoryId, reference, digest, manifest, content, now, cancellationToken), cancellationToken),
            cancellationToken);
        if (error is not null)
        {
            return (null, null, error);
        }

        cache.Invalidate(repository);
        await durability.EnsureDurableAsync(CancellationToken.None);
        return (digest, manifest, null);
    }

    /// <summary>One attempt at recording a validated manifest (and its tag) in one transaction; an error when a reference or the tag forbids it.</summary>
    private async Task<OciError?> StoreAsync(long repositoryId, Reference reference, Digest digest, ParsedManifest manifest, byte[] content, DateTime now, CancellationToken cancellationToken)
    {
        // What the manifest references is checked and held inside the transaction that records the
        // references, so garbage collection cannot delete it in between.
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        if (await CheckReferencesAsync(repositoryId, manifest, cancellationToken) is { } referenceError)
        {
            return referenceError;
        }

        await db.LockRowsAsync(locks.ForShare, "Manifests", "Digest", [digest.Value], cancellationToken);
        var exists = await db.Manifests.AnyAsync(m => m.RepositoryId == repositoryId && m.Digest == digest.Value, cancellationToken);
        if (!exists)
        {
            db.Manifests.Add(new ManifestEntity
            {
                RepositoryId = repositoryId,
                Digest = digest.Value,
                MediaType = manifest.MediaType,
                Content = content,
                ArtifactType = manifest.EffectiveArtifactType,
                SubjectDigest = manifest.Subject?.Digest.Value,
                AnnotationsJson = manifest.Annotations is { Count: > 0 } a ? JsonSerializer.Serialize(a, DistributionJson.Default.IReadOnlyDictionaryStringString) : null,
                CreatedAt = now,
                TouchedAt = now,
                References = manifest.RequiredBlobs.Select(d => (d.Digest.Value, ReferenceKind.Blob))
                    .Concat(manifest.Manifests.Select(d => (d.Digest.Value, ReferenceKind.Manifest)))
                    .DistinctBy(r => r.Item1)
                    .Select(r => new ManifestReferenceEntity { Digest = r.Item1, Kind = r.Item2 })
                    .ToList(),
            });
            await db.SaveChangesAsync(cancellationToken);
        }

        if (reference.Tag is { } tag)
        {
            if (await MovesImmutableTagAsync(repositoryId, tag, digest.Value, cancellationToken))
            {
                return new OciError(OciErrorCode.TagInvalid, "the repository's tags are immutable", $"tag '{tag}' already points at another manifest");
            }

            await TouchTaggedAsync(repositoryId, tag, now, cancellationToken);
            await db.Database.ExecuteSqlAsync(
                $"""
                INSERT INTO "Tags" ("RepositoryId", "Name", "ManifestDigest", "UpdatedAt") VALUES ({repositoryId}, {tag}, {digest.Value}, {now})
                ON CONFLICT ("RepositoryId", "Name") DO UPDATE SET "ManifestDigest" = excluded."ManifestDigest", "UpdatedAt" = excluded."UpdatedAt"
                """,
                cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return null;
    }

    /// <summary>Deletes a tag (by tag) or a manifest and the tags pointing at it (by digest); false when unknown.</summary>
    public async Task<bool> DeleteAsync(string repository, Reference reference, CancellationToken cancellationToken)
    {
        if (await repositories.FindIdAsync(repository) is not { } repositoryId)
        {
            return false;
        }

        var now = clock.GetUtcNow().UtcDateTime;
        if (reference.Tag is { } tag)
        {
            var untagged = await writes.RunAsync(
                async () =>
                {
                    await TouchTaggedAsync(repositoryId, tag, now, cancellationToken);
                    return await db.Tags.Where(t => t.RepositoryId == repositoryId && t.Name == tag).ExecuteDeleteAsync(cancellationToken) > 0;
                },
                cancellationToken);
            cache.Invalidate(repository);
            await durability.EnsureDurableAsync(CancellationToken.None);
            return untagged;
        }

        var digest = reference.Digest!.Value;
        await writes.RunAsync(() => TouchReferencedAsync(repositoryId, digest, now, cancellationToken), cancellationToken);
        var deleted = await writes.RunAsync(
            () => ConflictRetry.RunAsync(
                db,
                async () =>
                {
                    await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
                    await db.Tags.Where(t => t.RepositoryId == repositoryId && t.ManifestDigest == digest).ExecuteDeleteAsync(cancellationToken);
                    var count = await db.Manifests.Where(m => m.RepositoryId == repositoryId && m.Digest == digest).ExecuteDeleteAsync(cancellationToken);
                    await transaction.CommitAsync(cancellationToken);
                    return count;
                },
                cancellationToken),
            cancellationToken);
        cache.Invalidate(repository);
        await durability.EnsureDurableAsync(CancellationToken.None);
        return deleted > 0;
    }

    private async Task<OciError?> CheckReferencesAsync(long repositoryId, ParsedManifest manifest, CancellationToken cancellationToken)
    {
        var required = manifest.RequiredBlobs.ToList();
        if (required.Count > 0)
        {
            var found = await blobs.LockLinkedAsync(repositoryId, required.Select(d => d.Digest.Value).Distinct().ToList(), cancellationToken);
            foreach (var descriptor in required)
            {
                if (!found.TryGetValue(descriptor.Digest.Value, out var size))
                {
                    return new OciError(OciErrorCode.ManifestBlobUnknown, "manifest references a blob unknown to the repository", descriptor.Digest.Value);
                }

                if (size != descriptor.Size)
                {
                    return OciError.ManifestInvalid($"descriptor of {descriptor.Digest} says size {descriptor.Size}, the blob has {size} bytes");
                }
            }
        }

        if (manifest.Manifests.Count > 0)
        {
            var children = manifest.Manifests.Select(d => d.Digest.Value).Distinct().ToList();
            await db.LockRowsAsync(locks.ForShare, "Manifests", "Digest", children.ToArray<object>(), cancellationToken);
            var found = await db.Manifests
                .Where(m => m.RepositoryId == repositoryId && children.Contains(m.Digest))
                .Select(m => m.Digest)
                .ToListAsync(cancellationToken);
            if (children.Except(found).FirstOrDefault() is { } missing)
            {
                return new OciError(OciErrorCode.ManifestUnknown, "index references a manifest unknown to the repository", missing, 400);
            }
        }

        return null;
    }

    /// <summary>Whether putting <paramref name="digest"/> under <paramref name="tag"/> would move a tag of an IMMUTABLE repository.</summary>
    private Task<bool> MovesImmutableTagAsync(long repositoryId, string tag, string digest, CancellationToken cancellationToken) =>
        db.Tags.AnyAsync(
            t => t.RepositoryId == repositoryId && t.Name == tag && t.ManifestDigest != digest
                 && db.Repositories.Any(r => r.Id == repositoryId && r.ImageTagMutability == "IMMUTABLE"),
            cancellationToken);

    /// <summary>The manifest a tag points at is about to lose it: it gets a fresh grace period before untagged collection.</summary>
    private Task<int> TouchTaggedAsync(long repositoryId, string tag, DateTime now, CancellationToken cancellationToken) =>
        db.Database.ExecuteSqlAsync(
            $"""
            UPDATE "Manifests" SET "TouchedAt" = {now}
            WHERE "RepositoryId" = {repositoryId} AND "Digest" IN (SELECT "ManifestDigest" FROM "Tags" WHERE "RepositoryId" = {repositoryId} AND "Name" = {tag})
            """,
            cancellationToken);

    /// <summary>
    /// A manifest is about to be deleted: what it referenced gets a fresh grace period, so deleting an
    /// image and pushing it again does not race the collector for the layers. Done before the delete's
    /// transaction, outside it, so the delete holds no blob rows a concurrent push holds shared.
    /// </summary>
    private async Task TouchReferencedAsync(long repositoryId, string digest, DateTime now, CancellationToken cancellationToken)
    {
        await db.Database.ExecuteSqlAsync(
            $"""
            UPDATE "Blobs" SET "TouchedAt" = {now}
            WHERE "Digest" IN (SELECT r."Digest" FROM "ManifestReferences" r JOIN "Manifests" m ON m."Id" = r."ManifestId" WHERE m."RepositoryId" = {repositoryId} AND m."Digest" = {digest} AND r."Kind" = {(int)ReferenceKind.Blob})
            """,
            cancellationToken);
        await db.Database.ExecuteSqlAsync(
            $"""
            UPDATE "Manifests" SET "TouchedAt" = {now}
            WHERE "RepositoryId" = {repositoryId} AND "Digest" IN (SELECT r."Digest" FROM "ManifestReferences" r JOIN "Manifests" m ON m."Id" = r."ManifestId" WHERE m."RepositoryId" = {repositoryId} AND m."Digest" = {digest} AND r."Kind" = {(int)ReferenceKind.Manifest})
            """,
            cancellationToken);
    }

    private static Digest HashAs(Digest algorithmOf, byte[] content)
    {
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(algorithmOf.HashAlgorithm);
        hash.AppendData(content);
        return Digest.FromHash(algorithmOf.Algorithm, hash.GetHashAndReset());
    }
}
