using Microsoft.EntityFrameworkCore;
using Registry.AwsApi;
using Registry.Ecr.Lifecycle;

namespace Registry.Ecr;

/// <summary>Lifecycle policies and their previews.</summary>
internal sealed partial class EcrService
{
    private async Task<object> PutLifecyclePolicyAsync(AwsCall call)
    {
        var name = RepositoryNameOf(call);
        await AuthorizeAsync(call, "ecr:PutLifecyclePolicy", name);
        var text = call.Required("lifecyclePolicyText");
        LifecyclePolicy.Parse(text);
        await using var db = await DbAsync(call);
        if (await db.Repositories.Where(r => r.Name == name).ExecuteUpdateAsync(s => s.SetProperty(r => r.LifecyclePolicy, text), call.Context.RequestAborted) == 0)
        {
            throw RepositoryNotFound(name);
        }

        await DurableAsync(call);
        return new { registryId = Aws.AccountId, repositoryName = name, lifecyclePolicyText = text };
    }

    private async Task<object> GetLifecyclePolicyAsync(AwsCall call)
    {
        var name = RepositoryNameOf(call);
        await AuthorizeAsync(call, "ecr:GetLifecyclePolicy", name);
        await using var db = await DbAsync(call);
        var repository = await FindRepositoryAsync(db, name, call);
        return new
        {
            registryId = Aws.AccountId,
            repositoryName = name,
            lifecyclePolicyText = repository.LifecyclePolicy ?? throw LifecyclePolicyNotFound(name),
            lastEvaluatedAt = repository.LifecycleEvaluatedAt is { } at ? AwsCallExtensions.Epoch(at) : (double?)null,
        };
    }

    private async Task<object> DeleteLifecyclePolicyAsync(AwsCall call)
    {
        var name = RepositoryNameOf(call);
        await AuthorizeAsync(call, "ecr:DeleteLifecyclePolicy", name);
        await using var db = await DbAsync(call);
        var repository = await FindRepositoryAsync(db, name, call);
        var text = repository.LifecyclePolicy ?? throw LifecyclePolicyNotFound(name);
        await db.Repositories.Where(r => r.Id == repository.Id).ExecuteUpdateAsync(s => s.SetProperty(r => r.LifecyclePolicy, (string?)null), call.Context.RequestAborted);
        await DurableAsync(call);
        return new
        {
            registryId = Aws.AccountId,
            repositoryName = name,
            lifecyclePolicyText = text,
            lastEvaluatedAt = repository.LifecycleEvaluatedAt is { } at ? AwsCallExtensions.Epoch(at) : (double?)null,
        };
    }

    private async Task<object> StartLifecyclePolicyPreviewAsync(AwsCall call)
    {
        var name = RepositoryNameOf(call);
        await AuthorizeAsync(call, "ecr:StartLifecyclePolicyPreview", name);
        await using var db = await DbAsync(call);
        var repository = await FindRepositoryAsync(db, name, call);
        var text = call.Optional("lifecyclePolicyText") ?? repository.LifecyclePolicy ?? throw LifecyclePolicyNotFound(name);
        LifecyclePolicy.Parse(text);
        await db.Repositories.Where(r => r.Id == repository.Id).ExecuteUpdateAsync(s => s.SetProperty(r => r.LifecyclePreviewPolicy, text), call.Context.RequestAborted);
        await DurableAsync(call);
        return new { registryId = Aws.AccountId, repositoryName = name, lifecyclePolicyText = text, status = "IN_PROGRESS" };
    }

    /// <summary>The preview is worked out when asked for, by the evaluator a run uses, so it is complete at once and exact as of now.</summary>
    private async Task<object> GetLifecyclePolicyPreviewAsync(AwsCall call)
    {
        var name = RepositoryNameOf(call);
        await AuthorizeAsync(call, "ecr:GetLifecyclePolicyPreview", name);
        var limit = call.MaxResults(100, 100);
        var after = call.PageAfter();
        var tagStatus = TagStatusOf(call);
        await using var db = await DbAsync(call);
        var repository = await FindRepositoryAsync(db, name, call);
        var text = repository.LifecyclePreviewPolicy
                   ?? throw new AwsApiException("LifecyclePolicyPreviewNotFoundException", $"There is no dry run for the repository with name '{name}' in the registry with id '{Aws.AccountId}'");
        var images = await LifecycleImages.LoadAsync(db, repository.Id, call.Context.RequestAborted);
        var expiries = LifecycleEvaluator.Evaluate(LifecyclePolicy.Parse(text), images, DateTime.UtcNow);
        var shown = expiries
            .Where(e => tagStatus == "ANY" || (tagStatus == "TAGGED") == (e.Image.Tags.Count > 0))
            .Where(e => after is null || string.CompareOrdinal(e.Image.Digest, after) > 0)
            .OrderBy(e => e.Image.Digest, StringComparer.Ordinal)
            .Take(limit + 1)
            .ToList();
        var page = shown.Take(limit).ToList();
        return new
        {
            registryId = Aws.AccountId,
            repositoryName = name,
            lifecyclePolicyText = text,
            status = "COMPLETE",
            previewResults = page.Select(e => new
            {
                imageTags = e.Image.Tags,
                imageDigest = e.Image.Digest,
                imagePushedAt = AwsCallExtensions.Epoch(e.Image.PushedAt),
                action = new { type = "EXPIRE" },
                appliedRulePriority = e.RulePriority,
            }).ToList(),
            nextToken = shown.Count > limit ? AwsCallExtensions.NextToken(page[^1].Image.Digest) : null,
            summary = new { expiringImageTotalCount = expiries.Count },
        };
    }

    private AwsApiException LifecyclePolicyNotFound(string name) =>
        new("LifecyclePolicyNotFoundException", $"Lifecycle policy does not exist for the repository with name '{name}' in the registry with id '{Aws.AccountId}'");
}
