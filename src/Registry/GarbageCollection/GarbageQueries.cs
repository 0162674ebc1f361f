using Microsoft.EntityFrameworkCore;
using Registry.Data;

namespace Registry.GarbageCollection;

/// <summary>
/// The mark phase, done by the database: which manifests are live, and from that which manifests,
/// blobs and links are garbage. The SQL is shared by SQLite and PostgreSQL. Its answers are
/// candidates only; each is checked again under a row lock before anything is deleted.
/// </summary>
internal static class GarbageQueries
{
    /// <summary>Every manifest is live (untagged manifests are kept).</summary>
    private const string AllLive = """
        WITH "Live"("Id") AS (SELECT "Id" FROM "Manifests")
        """;

    /// <summary>
    /// Live manifests: tagged ones and ones inside their grace period, then, transitively, the children
    /// of a live index and the referrers of a live subject, within the same repository. Edges go from
    /// a manifest to what it keeps alive; PostgreSQL allows one recursive reference, hence the edge table.
    /// </summary>
    private const string ReachableLive = """
        WITH RECURSIVE "Edges"("FromId", "ToId") AS (
            SELECT r."ManifestId", c."Id" FROM "ManifestReferences" r
            JOIN "Manifests" p ON p."Id" = r."ManifestId"
            JOIN "Manifests" c ON c."RepositoryId" = p."RepositoryId" AND c."Digest" = r."Digest"
            WHERE r."Kind" = 1
            UNION ALL
            SELECT s."Id", m."Id" FROM "Manifests" m
            JOIN "Manifests" s ON s."RepositoryId" = m."RepositoryId" AND s."Digest" = m."SubjectDigest"
        ),
        "Live"("Id") AS (
            SELECT m."Id" FROM "Manifests" m
            WHERE m."TouchedAt" >= {0}
               OR EXISTS (SELECT 1 FROM "Tags" t WHERE t."RepositoryId" = m."RepositoryId" AND t."ManifestDigest" = m."Digest")
            UNION
            SELECT e."ToId" FROM "Live" l JOIN "Edges" e ON e."FromId" = l."Id"
        )
        """;

    private const string GarbageManifestsSql = """

        SELECT m."Id", r."Name" AS "Repository", m."Digest" FROM "Manifests" m
        JOIN "Repositories" r ON r."Id" = m."RepositoryId"
        WHERE m."Id" NOT IN (SELECT "Id" FROM "Live")
        ORDER BY r."Name", m."Digest"
        """;

    /// <summary>Blobs past their grace period that no live manifest references.</summary>
    private const string GarbageBlobsSql = """

        SELECT b."Digest", b."Size" FROM "Blobs" b
        WHERE NOT b."Deleting" AND b."TouchedAt" < {0}
          AND NOT EXISTS (SELECT 1 FROM "ManifestReferences" x WHERE x."Digest" = b."Digest" AND x."Kind" = 0 AND x."ManifestId" IN (SELECT "Id" FROM "Live"))
        ORDER BY b."Digest"
        """;

    /// <summary>
    /// Links past their grace period into a repository where no live manifest references the blob, of
    /// blobs that stay (a blob that goes takes its links with it).
    /// </summary>
    private const string StaleLinksSql = """

        SELECT l."RepositoryId", r."Name" AS "Repository", l."Digest" FROM "RepositoryBlobs" l
        JOIN "Repositories" r ON r."Id" = l."RepositoryId"
        JOIN "Blobs" b ON b."Digest" = l."Digest"
        WHERE l."LinkedAt" < {0} AND NOT b."Deleting"
          AND NOT EXISTS (SELECT 1 FROM "ManifestReferences" x JOIN "Manifests" m ON m."Id" = x."ManifestId"
                          WHERE x."Digest" = l."Digest" AND x."Kind" = 0 AND m."RepositoryId" = l."RepositoryId" AND m."Id" IN (SELECT "Id" FROM "Live"))
          AND (b."TouchedAt" >= {0}
               OR EXISTS (SELECT 1 FROM "ManifestReferences" x WHERE x."Digest" = l."Digest" AND x."Kind" = 0 AND x."ManifestId" IN (SELECT "Id" FROM "Live")))
        ORDER BY r."Name", l."Digest"
        """;

    private const string ReachableGarbageManifests = ReachableLive + GarbageManifestsSql;
    private const string ReachableGarbageBlobs = ReachableLive + GarbageBlobsSql;
    private const string AllLiveGarbageBlobs = AllLive + GarbageBlobsSql;
    private const string ReachableStaleLinks = ReachableLive + StaleLinksSql;
    private const string AllLiveStaleLinks = AllLive + StaleLinksSql;

    public static Task<List<ManifestRow>> GarbageManifestsAsync(RegistryDbContext db, DateTime cutoff, bool deleteUntagged, CancellationToken cancellationToken) =>
        deleteUntagged
            ? db.Database.SqlQueryRaw<ManifestRow>(ReachableGarbageManifests, cutoff).ToListAsync(cancellationToken)
            : Task.FromResult(new List<ManifestRow>());

    public static Task<List<BlobRow>> GarbageBlobsAsync(RegistryDbContext db, DateTime cutoff, bool deleteUntagged, CancellationToken cancellationToken) =>
        db.Database.SqlQueryRaw<BlobRow>(deleteUntagged ? ReachableGarbageBlobs : AllLiveGarbageBlobs, cutoff).ToListAsync(cancellationToken);

    public static Task<List<LinkRow>> StaleLinksAsync(RegistryDbContext db, DateTime cutoff, bool deleteUntagged, CancellationToken cancellationToken) =>
        db.Database.SqlQueryRaw<LinkRow>(deleteUntagged ? ReachableStaleLinks : AllLiveStaleLinks, cutoff).ToListAsync(cancellationToken);
}
