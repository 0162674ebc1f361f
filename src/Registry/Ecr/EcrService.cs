using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Registry.AwsApi;
using Registry.Auth;
using Registry.Core.Names;
using Registry.Data;
using Registry.Data.Entities;
using Registry.Iam;
using Registry.Security.Policies;

namespace Registry.Ecr;

/// <summary>
/// The ECR API (JSON 1.1, target prefix <c>AmazonEC2ContainerRegistry_V20150921.</c>) over the same
/// repositories, manifests and blobs as <c>/v2</c>. Each operation is authorized as <c>ecr:&lt;Operation&gt;</c>
/// on the repository's ARN through the same policies, and answers in ECR's shapes and error types.
/// </summary>
internal sealed partial class EcrService(IOptions<AwsOptions> aws) : IAwsJsonService
{
    public string TargetPrefix => "AmazonEC2ContainerRegistry_V20150921.";

    public string SigningName => "ecr";

    private AwsOptions Aws => aws.Value;

    public Task<object>? Invoke(string operation, AwsCall call) => operation switch
    {
        "GetAuthorizationToken" => GetAuthorizationTokenAsync(call),
        "CreateRepository" => CreateRepositoryAsync(call),
        "DescribeRepositories" => DescribeRepositoriesAsync(call),
        "DeleteRepository" => DeleteRepositoryAsync(call),
        "SetRepositoryPolicy" => SetRepositoryPolicyAsync(call),
        "GetRepositoryPolicy" => GetRepositoryPolicyAsync(call),
        "DeleteRepositoryPolicy" => DeleteRepositoryPolicyAsync(call),
        "PutRegistryPolicy" => PutRegistryPolicyAsync(call),
        "GetRegistryPolicy" => GetRegistryPolicyAsync(call),
        "DeleteRegistryPolicy" => DeleteRegistryPolicyAsync(call),
        "DescribeRegistry" => DescribeRegistryAsync(call),
        "PutImageTagMutability" => PutImageTagMutabilityAsync(call),
        "TagResource" => TagResourceAsync(call),
        "UntagResource" => UntagResourceAsync(call),
        "ListTagsForResource" => ListTagsForResourceAsync(call),
        "ListImages" => ListImagesAsync(call),
        "DescribeImages" => DescribeImagesAsync(call),
        "BatchGetImage" => BatchGetImageAsync(call),
        "BatchDeleteImage" => BatchDeleteImageAsync(call),
        "PutImage" => PutImageAsync(call),
        "BatchCheckLayerAvailability" => BatchCheckLayerAvailabilityAsync(call),
        "GetDownloadUrlForLayer" => GetDownloadUrlForLayerAsync(call),
        "InitiateLayerUpload" => InitiateLayerUploadAsync(call),
        "UploadLayerPart" => UploadLayerPartAsync(call),
        "CompleteLayerUpload" => CompleteLayerUploadAsync(call),
        "PutLifecyclePolicy" => PutLifecyclePolicyAsync(call),
        "GetLifecyclePolicy" => GetLifecyclePolicyAsync(call),
        "DeleteLifecyclePolicy" => DeleteLifecyclePolicyAsync(call),
        "StartLifecyclePolicyPreview" => StartLifecyclePolicyPreviewAsync(call),
        "GetLifecyclePolicyPreview" => GetLifecyclePolicyPreviewAsync(call),
        _ => null,
    };

    public string AuditResource(string operation, JsonElement body) =>
        body.TryGetProperty("repositoryName", out var name) && name.ValueKind == JsonValueKind.String ? Aws.RepositoryArn(name.GetString()!)
        : body.TryGetProperty("resourceArn", out var arn) && arn.ValueKind == JsonValueKind.String ? arn.GetString()!
        : Aws.RegistryArn;

    private async Task<object> GetAuthorizationTokenAsync(AwsCall call)
    {
        await AuthorizeAsync(call, "ecr:GetAuthorizationToken", null);
        // A role session's login ends with the session, so a stopped task's credentials do not pull for hours more.
        var sessionEnd = call.User.FindFirst(SigV4Authenticator.SessionExpiresClaim)?.Value is { } end ? DateTimeOffset.FromUnixTimeSeconds(long.Parse(end, System.Globalization.CultureInfo.InvariantCulture)) : (DateTimeOffset?)null;
        var (password, expiresAt) = call.Context.RequestServices.GetRequiredService<LoginTokens>().Issue(call.User.Identity!.Name!, sessionEnd);
        var request = call.Context.Request;
        return new
        {
            authorizationData = new[]
            {
                new
                {
                    authorizationToken = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{LoginTokens.LoginUser}:{password}")),
                    expiresAt = AwsCallExtensions.Epoch(expiresAt.UtcDateTime),
                    proxyEndpoint = $"{request.Scheme}://{request.Host}",
                },
            },
        };
    }

    private async Task<object> CreateRepositoryAsync(AwsCall call)
    {
        var name = RepositoryNameOf(call);
        await AuthorizeAsync(call, "ecr:CreateRepository", name);
        var mutability = MutabilityOf(call.Optional("imageTagMutability") ?? "MUTABLE");
        var tags = call.Tags("tags");
        var scanOnPush = call.Body.TryGetProperty("imageScanningConfiguration", out var scanning) && scanning.ValueKind == JsonValueKind.Object
                         && scanning.TryGetProperty("scanOnPush", out var scan) && scan.ValueKind == JsonValueKind.True;
        var (encryptionType, kmsKey) = EncryptionOf(call);
        var now = DateTime.UtcNow;
        await using var db = await DbAsync(call);
        if (await db.Repositories.AnyAsync(r => r.Name == name, call.Context.RequestAborted))
        {
            throw new AwsApiException("RepositoryAlreadyExistsException", $"The repository with name '{name}' already exists in the registry with id '{Aws.AccountId}'");
        }

        var repository = new RepositoryEntity { Name = name, CreatedAt = now, ImageTagMutability = mutability, ScanOnPush = scanOnPush, EncryptionType = encryptionType, KmsKey = kmsKey };
        db.Repositories.Add(repository);
        db.ResourceTags.AddRange(tags.Select(t => new ResourceTagEntity { ResourceArn = Aws.RepositoryArn(name), Key = t.Key, Value = t.Value }));
        try
        {
            await db.SaveChangesAsync(call.Context.RequestAborted);
        }
        catch (DbUpdateException)
        {
            throw new AwsApiException("RepositoryAlreadyExistsException", $"The repository with name '{name}' already exists in the registry with id '{Aws.AccountId}'");
        }

        await DurableAsync(call);
        return new { repository = Describe(repository, call) };
    }

    private async Task<object> DescribeRepositoriesAsync(AwsCall call)
    {
        CheckRegistryId(call);
        var names = call.Strings("repositoryNames", required: false);
        var after = call.PageAfter();
        var limit = call.MaxResults(1000, 100);
        if (names.Count > 0 && (after is not null || call.Body.TryGetProperty("maxResults", out _)))
        {
            throw AwsApiException.InvalidParameter("nextToken and maxResults cannot be used with repositoryNames");
        }

        await using var db = await DbAsync(call);
        var query = db.Repositories.AsNoTracking();
        query = names.Count > 0 ? query.Where(r => names.Contains(r.Name)) : after is null ? query : query.Where(r => string.Compare(r.Name, after) > 0);
        var found = await query.OrderBy(r => r.Name).Take(names.Count > 0 ? names.Count : limit + 1).ToListAsync(call.Context.RequestAborted);
        if (names.FirstOrDefault(n => found.All(r => r.Name != n)) is { } missing)
        {
            throw RepositoryNotFound(missing);
        }

        var page = names.Count > 0 ? found : found.Take(limit).ToList();
        foreach (var repository in page)
        {
            await AuthorizeAsync(call, "ecr:DescribeRepositories", repository.Name);
        }

        return new
        {
            repositories = page.Select(r => Describe(r, call)).ToList(),
            nextToken = names.Count == 0 && found.Count > limit ? AwsCallExtensions.NextToken(page[^1].Name) : null,
        };
    }

    private async Task<object> DeleteRepositoryAsync(AwsCall call)
    {
        var name = RepositoryNameOf(call);
        await AuthorizeAsync(call, "ecr:DeleteRepository", name);
        await using var db = await DbAsync(call);
        var repository = await FindRepositoryAsync(db, name, call);
        if (call.OptionalBool("force") != true && await db.Manifests.AnyAsync(m => m.RepositoryId == repository.Id, call.Context.RequestAborted))
        {
            throw new AwsApiException("RepositoryNotEmptyException", $"The repository with name '{name}' in registry with id '{Aws.AccountId}' cannot be deleted because it still contains images");
        }

        var described = Describe(repository, call);
        await db.ResourceTags.Where(t => t.ResourceArn == Aws.RepositoryArn(name)).ExecuteDeleteAsync(call.Context.RequestAborted);
        await db.Repositories.Where(r => r.Id == repository.Id).ExecuteDeleteAsync(call.Context.RequestAborted);
        await DurableAsync(call);
        call.Context.RequestServices.GetRequiredService<Distribution.ManifestCache>().Invalidate(name);
        Invalidate(call);
        return new { repository = described };
    }

    private async Task<object> PutImageTagMutabilityAsync(AwsCall call)
    {
        var name = RepositoryNameOf(call);
        await AuthorizeAsync(call, "ecr:PutImageTagMutability", name);
        var mutability = MutabilityOf(call.Required("imageTagMutability"));
        await using var db = await DbAsync(call);
        if (await db.Repositories.Where(r => r.Name == name).ExecuteUpdateAsync(s => s.SetProperty(r => r.ImageTagMutability, mutability), call.Context.RequestAborted) == 0)
        {
            throw RepositoryNotFound(name);
        }

        await DurableAsync(call);
        return new { registryId = Aws.AccountId, repositoryName = name, imageTagMutability = mutability };
    }

    private async Task<object> DescribeRegistryAsync(AwsCall call)
    {
        await AuthorizeAsync(call, "ecr:DescribeRegistry", null);
        return new { registryId = Aws.AccountId, replicationConfiguration = new { rules = Array.Empty<object>() } };
    }

    private object Describe(RepositoryEntity repository, AwsCall call) => new
    {
        repositoryArn = Aws.RepositoryArn(repository.Name),
        registryId = Aws.AccountId,
        repositoryName = repository.Name,
        repositoryUri = $"{call.Context.Request.Host}/{repository.Name}",
        createdAt = AwsCallExtensions.Epoch(repository.CreatedAt),
        imageTagMutability = repository.ImageTagMutability,
        imageScanningConfiguration = new { scanOnPush = repository.ScanOnPush },
        encryptionConfiguration = new { encryptionType = repository.EncryptionType, kmsKey = repository.KmsKey },
    };

    /// <summary>Authorizes <paramref name="action"/> on a repository (null: the registry) through the policies; AccessDeniedException otherwise.</summary>
    private async Task AuthorizeAsync(AwsCall call, string action, string? repository)
    {
        var decision = await call.Context.RequestServices.GetRequiredService<PolicyAuthorizer>().DecideAsync(call.User, action, repository, call.Context);
        if (decision != Decision.Allow)
        {
            var resource = repository is null ? Aws.RegistryArn : Aws.RepositoryArn(repository);
            var why = decision == Decision.ExplicitDeny ? "with an explicit deny" : "because no identity-based or resource-based policy allows the " + action + " action";
            throw new AwsApiException("AccessDeniedException", $"User: {Aws.CallerArn(call.User.Identity!.Name!)} is not authorized to perform: {action} on resource: {resource} {why}");
        }
    }

    private string RepositoryNameOf(AwsCall call)
    {
        CheckRegistryId(call);
        var name = call.Required("repositoryName");
        return name.Length is >= 2 and <= 256 && RepositoryName.IsValid(name)
            ? name
            : throw AwsApiException.InvalidParameter($"Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy regular expression '(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*' and be 2 to 256 characters'");
    }

    private void CheckRegistryId(AwsCall call)
    {
        if (call.Optional("registryId") is { } registryId && registryId != Aws.AccountId)
        {
            throw AwsApiException.InvalidParameter($"registryId '{registryId}' is not this registry ('{Aws.AccountId}')");
        }
    }

    private static string MutabilityOf(string value) => value is "MUTABLE" or "IMMUTABLE"
        ? value
        : throw AwsApiException.InvalidParameter("imageTagMutability must be MUTABLE or IMMUTABLE");

    private static (string Type, string? KmsKey) EncryptionOf(AwsCall call)
    {
        if (!call.Body.TryGetProperty("encryptionConfiguration", out var encryption) || encryption.ValueKind == JsonValueKind.Null)
        {
            return ("AES256", null);
        }

        var type = encryption.ValueKind == JsonValueKind.Object && encryption.TryGetProperty("encryptionType", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        var key = encryption.ValueKind == JsonValueKind.Object && encryption.TryGetProperty("kmsKey", out var k) && k.ValueKind == JsonValueKind.String ? k.GetString() : null;
        return type switch
        {
            "AES256" when key is null => ("AES256", null),
            "KMS" or "KMS_DSSE" => (type, key),
            _ => throw AwsApiException.InvalidParameter("encryptionConfiguration.encryptionType must be AES256 (without kmsKey), KMS or KMS_DSSE"),
        };
    }

    private static async Task<RegistryDbContext> DbAsync(AwsCall call) =>
        await call.Context.RequestServices.GetRequiredService<IDbContextFactory<RegistryDbContext>>().CreateDbContextAsync(call.Context.RequestAborted);

    private async Task<RepositoryEntity> FindRepositoryAsync(RegistryDbContext db, string name, AwsCall call) =>
        await db.Repositories.AsNoTracking().FirstOrDefaultAsync(r => r.Name == name, call.Context.RequestAborted) ?? throw RepositoryNotFound(name);

    private AwsApiException RepositoryNotFound(string name) =>
        new("RepositoryNotFoundException", $"The repository with name '{name}' does not exist in the registry with id '{Aws.AccountId}'");

    private static ValueTask DurableAsync(AwsCall call) =>
        call.Context.RequestServices.GetRequiredService<ICommitDurability>().EnsureDurableAsync(CancellationToken.None);

    private static void Invalidate(AwsCall call) => call.Context.RequestServices.GetRequiredService<PolicyStore>().Invalidate();
}
