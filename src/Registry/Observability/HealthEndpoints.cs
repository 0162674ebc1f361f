using Microsoft.EntityFrameworkCore;
using Registry.Core.Content;
using Registry.Data;
using Registry.Storage;

namespace Registry.Observability;

/// <summary>
/// Probes for orchestrators, without authentication. <c>/healthz</c>: the process serves (liveness).
/// <c>/readyz</c>: the metadata database answers and has every migration, and the blob store answers
/// (readiness); 503 with each check's state otherwise, so a replica that lost either gets no traffic
/// and is not restarted for it.
/// </summary>
internal static class HealthEndpoints
{
    private static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(5);

    /// <summary>A digest no blob has in practice (SHA-256 of the empty string): asking its length only reaches the store.</summary>
    private static readonly Digest Probe = Digest.Parse("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

    public static IEndpointRouteBuilder MapHealth(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", () => Results.Text("ok\n"));
        app.MapGet("/readyz", ReadyAsync);
        return app;
    }

    private static async Task<IResult> ReadyAsync(HttpContext context, IDbContextFactory<RegistryDbContext> dbFactory, IBlobStore store)
    {
        // Both at once: the probe's own timeout covers one check's, not two in a row.
        var databaseCheck = CheckAsync(async cancellationToken =>
        {
            await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
            if (!await db.Database.CanConnectAsync(cancellationToken))
            {
                return "unreachable";
            }

            var pending = (await db.Database.GetPendingMigrationsAsync(cancellationToken)).Count();
            return pending == 0 ? "ok" : $"{pending} migrations pending";
        }, context.RequestAborted);
        var blobStoreCheck = CheckAsync(async cancellationToken =>
        {
            await store.GetLengthAsync(Probe, cancellationToken);
            return "ok";
        }, context.RequestAborted);
        var database = await databaseCheck;
        var blobStore = await blobStoreCheck;
        var ready = database == "ok" && blobStore == "ok";
        return Results.Json(new { status = ready ? "ready" : "not ready", database, blobStore }, statusCode: ready ? 200 : 503);
    }

    private static async Task<string> CheckAsync(Func<CancellationToken, Task<string>> check, CancellationToken requestAborted)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(requestAborted);
        timeout.CancelAfter(CheckTimeout);
        try
        {
            return await check(timeout.Token);
        }
        catch (OperationCanceledException) when (!requestAborted.IsCancellationRequested)
        {
            return "timed out";
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return "error: " + e.GetType().Name;
        }
    }
}
