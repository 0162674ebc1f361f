using Microsoft.EntityFrameworkCore;
using Registry.Data;
using Registry.Data.Entities;

namespace Registry.Ecr.Lifecycle;

/// <summary>The images of a repository lifecycle rules apply to.</summary>
internal static class LifecycleImages
{
    /// <summary>
    /// Every manifest with its tags, except children of an index and referrers of a manifest in the
    /// repository: those live and go with what refers to them, never on their own.
    /// </summary>
    public static async Task<List<LifecycleImage>> LoadAsync(RegistryDbContext db, long repositoryId, CancellationToken cancellationToken)
    {
        var manifests = await db.Manifests.AsNoTracking()
            .Where(m => m.RepositoryId == repositoryId
                        && !db.ManifestReferences.Any(r => r.Kind == ReferenceKind.Manifest && r.Digest == m.Digest && db.Manifests.Any(p => p.Id == r.ManifestId && p.RepositoryId == repositoryId))
                        && !(m.SubjectDigest != null && db.Manifests.Any(s => s.RepositoryId == repositoryId && s.Digest == m.SubjectDigest)))
            .Select(m => new { m.Digest, m.CreatedAt })
            .ToListAsync(cancellationToken);
        var tags = (await db.Tags.AsNoTracking().Where(t => t.RepositoryId == repositoryId).Select(t => new { t.Name, t.ManifestDigest }).ToListAsync(cancellationToken))
            .ToLookup(t => t.ManifestDigest, t => t.Name);
        return manifests.Select(m => new LifecycleImage(m.Digest, tags[m.Digest].Order(StringComparer.Ordinal).ToList(), m.CreatedAt)).ToList();
    }
}
