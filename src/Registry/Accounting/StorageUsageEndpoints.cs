using System.Text.Json;
using System.Text.Json.Serialization;
using Registry.Auth;
using Registry.Core.Errors;
using Registry.Core.Names;
using Registry.Distribution;
using Registry.Iam;

namespace Registry.Accounting;

/// <summary>
/// <c>GET /api/v1/storage</c> (the registry's total and a page of repositories, for whoever may list
/// the catalog) and <c>GET /api/v1/storage/&lt;name&gt;</c> (one repository, for whoever may pull from it).
/// Errors are OCI error JSON, authentication as on <c>/v2</c>.
/// </summary>
internal static class StorageUsageEndpoints
{
    private const string BasePath = "/api/v1/storage";

    public static IEndpointRouteBuilder MapStorageUsage(this IEndpointRouteBuilder app)
    {
        app.MapGet(BasePath, RegistryAsync);
        app.MapGet(BasePath + "/{**repository}", RepositoryAsync);
        return app;
    }

    private static async Task RegistryAsync(HttpContext context)
    {
        if (!await AuthorizeAsync(context, new AccessScope("registry", "catalog", ["*"]), EcrActions.DescribeRepositories))
        {
            return;
        }

        if (!ListingEndpoints.TryReadPage(context, out var limit, out var last))
        {
            await OciResponses.WriteErrorAsync(context, ListingEndpoints.PageSizeInvalid(context));
            return;
        }

        var usage = context.RequestServices.GetRequiredService<StorageUsage>();
        var total = await usage.TotalAsync(context.RequestAborted);
        var repositories = await usage.ListAsync(last, limit + 1, context.RequestAborted);
        var page = repositories.Take(limit).ToList();
        ListingEndpoints.SetNextLink(context, BasePath, new Page(page.Select(r => r.Name).ToList(), repositories.Count > limit), limit);
        var body = new RegistryStorageJson(total.RepositoryCount, total.BlobCount, total.BlobBytes, total.ManifestCount, total.ManifestBytes, total.TotalBytes, page.Select(ToJson).ToList());
        context.Response.ContentType = "application/json";
        await JsonSerializer.SerializeAsync(context.Response.Body, body, StorageUsageJson.Default.RegistryStorageJson, context.RequestAborted);
    }

    private static async Task RepositoryAsync(HttpContext context, string repository)
    {
        if (!RepositoryName.IsValid(repository))
        {
            await OciResponses.WriteErrorAsync(context, OciError.NameInvalid(repository));
            return;
        }

        if (!await AuthorizeAsync(context, new AccessScope("repository", repository, [AccessScope.Pull]), EcrActions.DescribeRepositories))
        {
            return;
        }

        if (await context.RequestServices.GetRequiredService<StorageUsage>().FindAsync(repository, context.RequestAborted) is not { } usage)
        {
            await OciResponses.WriteErrorAsync(context, OciError.NameUnknown(repository));
            return;
        }

        context.Response.ContentType = "application/json";
        await JsonSerializer.SerializeAsync(context.Response.Body, ToJson(usage), StorageUsageJson.Default.RepositoryStorageJson, context.RequestAborted);
    }

    private static async Task<bool> AuthorizeAsync(HttpContext context, AccessScope required, string action)
    {
        var decision = await context.RequestServices.GetRequiredService<RegistryAccess>().CheckAsync(context, required, action);
        if (decision.Allowed)
        {
            return true;
        }

        if (decision.Challenge is not null)
        {
            context.Response.Headers.WWWAuthenticate = decision.Challenge;
        }

        await OciResponses.WriteErrorAsync(context, decision.Error!);
        return false;
    }

    private static RepositoryStorageJson ToJson(RepositoryUsage usage) =>
        new(usage.Name, usage.BlobCount, usage.BlobBytes, usage.ManifestCount, usage.ManifestBytes, usage.TotalBytes);
}

internal sealed record RepositoryStorageJson(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("blobCount")] long BlobCount,
    [property: JsonPropertyName("blobBytes")] long BlobBytes,
    [property: JsonPropertyName("manifestCount")] long ManifestCount,
    [property: JsonPropertyName("manifestBytes")] long ManifestBytes,
    [property: JsonPropertyName("totalBytes")] long TotalBytes);

internal sealed record RegistryStorageJson(
    [property: JsonPropertyName("repositoryCount")] long RepositoryCount,
    [property: JsonPropertyName("blobCount")] long BlobCount,
    [property: JsonPropertyName("blobBytes")] long BlobBytes,
    [property: JsonPropertyName("manifestCount")] long ManifestCount,
    [property: JsonPropertyName("manifestBytes")] long ManifestBytes,
    [property: JsonPropertyName("totalBytes")] long TotalBytes,
    [property: JsonPropertyName("repositories")] IReadOnlyList<RepositoryStorageJson> Repositories);

[JsonSerializable(typeof(RegistryStorageJson))]
[JsonSerializable(typeof(RepositoryStorageJson))]
internal sealed partial class StorageUsageJson : JsonSerializerContext;
