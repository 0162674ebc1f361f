using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Registry.Agent.Credentials;

/// <summary>
/// The agent's credentials endpoint, as the ECS agent serves it on 127.0.0.1:51679:
/// <c>GET /v2/credentials/&lt;id&gt;</c> answers a task's role credentials (RoleArn, AccessKeyId,
/// SecretAccessKey, Token, Expiration), which AWS SDKs fetch through AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
/// (bridge tasks, at 169.254.170.2) or AWS_CONTAINER_CREDENTIALS_FULL_URI with AWS_CONTAINER_AUTHORIZATION_TOKEN.
/// </summary>
public sealed class CredentialsEndpoint(TaskCredentials credentials, int port, ILoggerFactory loggers) : IAsyncDisposable
{
    private WebApplication? _app;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port));
        builder.Services.AddSingleton(loggers);
        builder.Services.AddRoutingCore();
        _app = builder.Build();
        _app.UseRouting();
        _app.MapGet("/v2/credentials/{id}", (HttpContext context, string id) =>
        {
            var found = credentials.Find(id, context.Request.Headers.Authorization.ToString() is { Length: > 0 } header ? header : null);
            return found.Result switch
            {
                CredentialsResult.Found => Results.Json(found.Credentials),
                CredentialsResult.Unauthorized => Results.Json(Error("InvalidAuthorizationToken", "Authorization header does not match the task's AWS_CONTAINER_AUTHORIZATION_TOKEN", 401), statusCode: 401),
                _ => Results.Json(Error("InvalidIdInRequest", "CredentialsV2Request: Credentials not found", 400), statusCode: 400),
            };
        });
        _app.MapFallback((HttpContext _) => Results.Json(Error("InvalidRequest", "Only GET /v2/credentials/<id> is served here", 404), statusCode: 404));
        await _app.StartAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }

    private static object Error(string code, string message, int status) => new { code, message, HTTPErrorCode = status };
}
