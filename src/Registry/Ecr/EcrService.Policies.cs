using Microsoft.EntityFrameworkCore;
using Registry.AwsApi;
using Registry.Data.Entities;
using Registry.Iam;

namespace Registry.Ecr;

/// <summary>Repository and registry policies, and resource tags.</summary>
internal sealed partial class EcrService
{
    private async Task<object> SetRepositoryPolicyAsync(AwsCall call)
    {
        var name = RepositoryNameOf(call);
        await AuthorizeAsync(call, "ecr:SetRepositoryPolicy", name);
        var policyText = call.Required("policyText");
        await IamAsync(call, iam => iam.SetRepositoryPolicyAsync(name, policyText, call.Context.RequestAborted));
        return new { registryId = Aws.AccountId, repositoryName = name, policyText };
    }

    private async Task<object> GetRepositoryPolicyAsync(AwsCall call)
    {
        var name = RepositoryNameOf(call);
        await AuthorizeAsync(call, "ecr:GetRepositoryPolicy", name);
        var policyText = await IamAsync(call, iam => iam.GetRepositoryPolicyAsync(name, call.Context.RequestAborted)) ?? throw RepositoryPolicyNotFound(name);
        return new { registryId = Aws.AccountId, repositoryName = name, policyText };
    }

    private async Task<object> DeleteRepositoryPolicyAsync(AwsCall call)
    {
        var name = RepositoryNameOf(call);
        await AuthorizeAsync(call, "ecr:DeleteRepositoryPolicy", name);
        var policyText = await IamAsync(call, iam => iam.GetRepositoryPolicyAsync(name, call.Context.RequestAborted)) ?? throw RepositoryPolicyNotFound(name);
        await IamAsync(call, iam => iam.SetRepositoryPolicyAsync(name, null, call.Context.RequestAborted));
        return new { registryId = Aws.AccountId, repositoryName = name, policyText };
    }

    private async Task<object> PutRegistryPolicyAsync(AwsCall call)
    {
        await AuthorizeAsync(call, "ecr:PutRegistryPolicy", null);
        var policyText = call.Required("policyText");
        await IamAsync(call, iam => iam.SetRegistryPolicyAsync(policyText, call.Context.RequestAborted));
        return new { registryId = Aws.AccountId, policyText };
    }

    private async Task<object> GetRegistryPolicyAsync(AwsCall call)
    {
        await AuthorizeAsync(call, "ecr:GetRegistryPolicy", null);
        var policyText = await IamAsync(call, iam => iam.GetRegistryPolicyAsync(call.Context.RequestAborted)) ?? throw RegistryPolicyNotFound();
        return new { registryId = Aws.AccountId, policyText };
    }

    private async Task<object> DeleteRegistryPolicyAsync(AwsCall call)
    {
        await AuthorizeAsync(call, "ecr:DeleteRegistryPolicy", null);
        var policyText = await IamAsync(call, iam => iam.GetRegistryPolicyAsync(call.Context.RequestAborted)) ?? throw RegistryPolicyNotFound();
        await IamAsync(call, iam => iam.SetRegistryPolicyAsync(null, call.Context.RequestAborted));
        return new { registryId = Aws.AccountId, policyText };
    }

    private async Task<object> TagResourceAsync(AwsCall call)
    {
        var (arn, repository) = await TaggedRepositoryAsync(call);
        var tags = call.Tags("tags");
        if (tags.Count == 0)
        {
            throw AwsApiException.InvalidParameter("tags must name at least one tag");
        }

        await AuthorizeTagsAsync(call, "ecr:TagResource", repository, tags.Select(t => t.Key));
        await using var db = await DbAsync(call);
        var keys = tags.Select(t => t.Key).ToList();
        await db.ResourceTags.Where(t => t.ResourceArn == arn && keys.Contains(t.Key)).ExecuteDeleteAsync(call.Context.RequestAborted);
        db.ResourceTags.AddRange(tags.DistinctBy(t => t.Key).Select(t => new ResourceTagEntity { ResourceArn = arn, Key = t.Key, Value = t.Value }));
        await db.SaveChangesAsync(call.Context.RequestAborted);
        await DurableAsync(call);
        Invalidate(call);
        return new { };
    }

    private async Task<object> UntagResourceAsync(AwsCall call)
    {
        var (arn, repository) = await TaggedRepositoryAsync(call);
        var keys = call.Strings("tagKeys", required: true);
        await AuthorizeTagsAsync(call, "ecr:UntagResource", repository, keys);
        await using var db = await DbAsync(call);
        await db.ResourceTags.Where(t => t.ResourceArn == arn && keys.Contains(t.Key)).ExecuteDeleteAsync(call.Context.RequestAborted);
        await DurableAsync(call);
        Invalidate(call);
        return new { };
    }

    private async Task<object> ListTagsForResourceAsync(AwsCall call)
    {
        var (arn, repository) = await TaggedRepositoryAsync(call);
        await AuthorizeAsync(call, "ecr:ListTagsForResource", repository);
        await using var db = await DbAsync(call);
        var tags = await db.ResourceTags.Where(t => t.ResourceArn == arn).OrderBy(t => t.Key).Select(t => new { t.Key, t.Value }).ToListAsync(call.Context.RequestAborted);
        return new { tags = tags.Select(t => new Dictionary<string, string> { ["Key"] = t.Key, ["Value"] = t.Value }).ToList() };
    }

    /// <summary>The repository a resourceArn names; it must be this registry's and exist.</summary>
    private async Task<(string Arn, string Repository)> TaggedRepositoryAsync(AwsCall call)
    {
        var arn = call.Required("resourceArn");
        var prefix = Aws.RepositoryArn("");
        var repository = arn.StartsWith(prefix, StringComparison.Ordinal) ? arn[prefix.Length..] : "";
        if (!Core.Names.RepositoryName.IsValid(repository))
        {
            throw AwsApiException.InvalidParameter($"resourceArn '{arn}' is not a repository of this registry ({prefix}<name>)");
        }

        await using var db = await DbAsync(call);
        await FindRepositoryAsync(db, repository, call);
        return (arn, repository);
    }

    private async Task AuthorizeTagsAsync(AwsCall call, string action, string repository, IEnumerable<string> keys)
    {
        var tagKeys = keys.ToArray();
        var decision = await call.Context.RequestServices.GetRequiredService<PolicyAuthorizer>()
            .DecideAsync(call.User, action, repository, call.Context, request => request.Set("aws:TagKeys", tagKeys));
        if (decision != Security.Policies.Decision.Allow)
        {
            throw new AwsApiException("AccessDeniedException", $"User: {Aws.CallerArn(call.User.Identity!.Name!)} is not authorized to perform: {action} on resource: {Aws.RepositoryArn(repository)}");
        }
    }

    /// <summary>Runs an IAM change, answering its errors as ECR does (a bad policy is an InvalidParameterException).</summary>
    private static async Task<T> IamAsync<T>(AwsCall call, Func<IamService, Task<T>> operation)
    {
        try
        {
            return await operation(call.Context.RequestServices.GetRequiredService<IamService>());
        }
        catch (IamException e)
        {
            throw e.Type switch
            {
                "MalformedPolicyDocument" => AwsApiException.InvalidParameter($"Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid repository policy provided': {e.Message}"),
                "RepositoryNotFoundException" => new AwsApiException("RepositoryNotFoundException", e.Message),
                _ => new AwsApiException(e.Type, e.Message, e.Status),
            };
        }
    }

    private static async Task IamAsync(AwsCall call, Func<IamService, Task> operation) =>
        await IamAsync<bool>(call, async iam =>
        {
            await operation(iam);
            return true;
        });

    private AwsApiException RepositoryPolicyNotFound(string name) =>
        new("RepositoryPolicyNotFoundException", $"Repository policy does not exist for the repository with name '{name}' in the registry with id '{Aws.AccountId}'");

    private AwsApiException RegistryPolicyNotFound() =>
        new("RegistryPolicyNotFoundException", $"Registry policy does not exist in the registry with id '{Aws.AccountId}'");
}
