using Microsoft.EntityFrameworkCore;
using Registry.Core.Content;
using Registry.Core.Names;
using Registry.Data;
using Registry.Distribution;

namespace Registry.Ecr.Lifecycle;

/// <summary>An image a lifecycle run expired.</summary>
internal sealed record ExpiredImage(string Repository, string Digest, IReadOnlyList<string> Tags, int RulePriority);

/// <summary>
/// Applies lifecycle policies: for each repository with one (or the one named), expires what
/// <see cref="LifecycleEvaluator"/> selects by deleting the manifest and its tags, as ECR's expire does.
/// The blobs go with garbage collection.
/// </summary>
internal sealed class LifecycleRunner(IDbContextFactory<RegistryDbContext> dbFactory, IServiceScopeFactory scopes, TimeProvider clock)
{
    public async Task<List<ExpiredImage>> RunAsync(string? repository, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var targets = await db.Repositories.AsNoTracking()
            .Where(r => r.LifecyclePolicy != null && (repository == null || r.Name == repository))
            .Select(r => new { r.Id, r.Name, r.LifecyclePolicy })
            .ToListAsync(cancellationToken);
        var expired = new List<ExpiredImage>();
        foreach (var target in targets)
        {
            var now = clock.GetUtcNow().UtcDateTime;
            var policy = LifecyclePolicy.Parse(target.LifecyclePolicy!);
            var images = await LifecycleImages.LoadAsync(db, target.Id, cancellationToken);
            await using var scope = scopes.CreateAsyncScope();
            var manifests = scope.ServiceProvider.GetRequiredService<ManifestService>();
            foreach (var expiry in LifecycleEvaluator.Evaluate(policy, images, now))
            {
                if (await manifests.DeleteAsync(target.Name, new Reference(null, Digest.Parse(expiry.Image.Digest)), cancellationToken))
                {
                    expired.Add(new ExpiredImage(target.Name, expiry.Image.Digest, expiry.Image.Tags, expiry.RulePriority));
                }
            }

            await db.Repositories.Where(r => r.Id == target.Id).ExecuteUpdateAsync(s => s.SetProperty(r => r.LifecycleEvaluatedAt, now), cancellationToken);
        }

        return expired;
    }
}
