using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Registry.Core.Content;
using Registry.Core.Manifests;
using Registry.Data;

namespace Registry.Distribution;

/// <summary>One page of a lexically ordered listing; <see cref="HasMore"/> asks for a <c>Link</c> to the next.</summary>
internal sealed record Page(IReadOnlyList<string> Items, bool HasMore);

/// <summary>Tags, catalog and referrers listings.</summary>
internal sealed class ListingService(RegistryDbContext db, RepositoryStore repositories)
{
    /// <summary>Tags of a repository after <paramref name="last"/>, at most <paramref name="limit"/>; null when the repository is unknown.</summary>
    public async Task<Page?> ListTagsAsync(string repository, string? last, int limit, CancellationToken cancellationToken)
    {
        if (await repositories.FindIdAsync(repository) is not { } repositoryId)
        {
            return null;
        }

        var query = db.Tags.Where(t => t.RepositoryId == repositoryId);
        if (last is not null)
        {
            query = query.Where(t => string.Compare(t.Name, last) > 0);
        }

        return ToPage(await query.OrderBy(t => t.Name).Select(t => t.Name).Take(limit + 1).ToListAsync(cancellationToken), limit);
    }

    public async Task<Page> ListRepositoriesAsync(string? last, int limit, CancellationToken cancellationToken)
    {
        var query = db.Repositories.AsQueryable();
        if (last is not null)
        {
            query = query.Where(r => string.Compare(r.Name, last) > 0);
        }

        return ToPage(await query.OrderBy(r => r.Name).Select(r => r.Name).Take(limit + 1).ToListAsync(cancellationToken), limit);
    }

    /// <summary>Manifests in the repository whose subject is <paramref name="subject"/>, optionally of one artifact type.</summary>
    public async Task<ReferrersIndex> ListReferrersAsync(string repository, Digest subject, string? artifactType, CancellationToken cancellationToken)
    {
        var query = from m in db.Manifests
                    join r in db.Repositories on m.RepositoryId equals r.Id
                    where r.Name == repository && m.SubjectDigest == subject.Value
                    select m;
        if (artifactType is not null)
        {
            query = query.Where(m => m.ArtifactType == artifactType);
        }

        var rows = await query
            .OrderBy(m => m.Id)
            .Select(m => new { m.MediaType, m.Digest, Size = (long)m.Content.Length, m.ArtifactType, m.AnnotationsJson })
            .ToListAsync(cancellationToken);
        var descriptors = rows.Select(m => new ReferrerDescriptor(
            m.MediaType,
            m.Digest,
            m.Size,
            m.ArtifactType,
            m.AnnotationsJson is null ? null : JsonSerializer.Deserialize(m.AnnotationsJson, DistributionJson.Default.IReadOnlyDictionaryStringString))).ToList();
        return new ReferrersIndex(2, MediaTypes.OciIndex, descriptors);
    }

    private static Page ToPage(List<string> items, int limit) =>
        items.Count > limit ? new Page(items[..limit], true) : new Page(items, false);
}
