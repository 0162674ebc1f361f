using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Forwarder;

namespace Registry.LoadBalancing;

/// <summary>
/// The balancer's listeners: a Kestrel server of its own (apart from the registry's endpoints, its
/// middleware and its authentication) that forwards each request with YARP's forwarder to a healthy
/// target of the group whose rule matches. A GET, HEAD or OPTIONS without a body that cannot reach its
/// target is tried on another one, so a task that died since its last check costs no failed request.
/// </summary>
public sealed partial class LoadBalancerHost(TargetGroups groups, TargetTable table, ILoggerFactory loggers) : IHostedService, IAsyncDisposable
{
    private const int Attempts = 3;

    private readonly HttpMessageInvoker _client = new(new SocketsHttpHandler
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = System.Net.DecompressionMethods.None,
        UseCookies = false,
        ConnectTimeout = TimeSpan.FromSeconds(5),
        EnableMultipleHttp2Connections = true,
    });

    private readonly ILogger _logger = loggers.CreateLogger<LoadBalancerHost>();
    private WebApplication? _app;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (groups.ByName.Count == 0)
        {
            return;
        }

        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().UseUrls([.. groups.ListenerUrls]);
        builder.Services.AddSingleton(loggers);
        builder.Services.AddHttpForwarder();
        _app = builder.Build();
        var forwarder = _app.Services.GetRequiredService<IHttpForwarder>();
        _app.Run(context => ForwardAsync(context, forwarder));
        await _app.StartAsync(cancellationToken);
        foreach (var url in groups.ListenerUrls)
        {
            Log.Listening(_logger, url, string.Join(", ", groups.ByPort[new Uri(url).Port].Select(g => g.Name)));
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is not null)
        {
            await _app.StopAsync(cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }

        _client.Dispose();
    }

    private async Task ForwardAsync(HttpContext context, IHttpForwarder forwarder)
    {
        var request = context.Request;
        var group = groups.ByPort.TryGetValue(context.Connection.LocalPort, out var listenerGroups)
            ? TargetGroup.Route(listenerGroups, request.Host.Host, request.Path.Value ?? "/")
            : null;
        if (group is null)
        {
            await PlainAsync(context, StatusCodes.Status404NotFound, $"No target group of this listener takes host '{request.Host.Host}' and path '{request.Path}'.");
            return;
        }

        var retryable = (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) || HttpMethods.IsOptions(request.Method))
            && request.ContentLength is null or 0 && request.Headers.TransferEncoding.Count == 0;
        var tried = new List<Target>();
        for (var attempt = 1; ; attempt++)
        {
            var target = table.Pick(group.Name, tried);
            if (target is null)
            {
                await PlainAsync(context, StatusCodes.Status503ServiceUnavailable, $"Target group {group.Name} has no healthy target.");
                return;
            }

            ForwarderError error;
            using (target.Begin())
            {
                error = await forwarder.SendAsync(context, target.Prefix.ToString(), _client, ForwarderRequestConfig.Empty, ForwardedHeaders.Instance);
            }

            if (error == ForwarderError.None)
            {
                return;
            }

            var failure = context.Features.Get<IForwarderErrorFeature>()?.Exception;
            if (error == ForwarderError.Request && !context.Response.HasStarted)
            {
                // Not reached at all: a safe request goes elsewhere. Health stays the health checks' call, as in ALB.
                if (retryable && attempt < Attempts)
                {
                    Log.Retried(_logger, target.TaskId, target.Prefix, failure?.Message ?? error.ToString());
                    tried.Add(target);
                    context.Response.Clear();
                    context.Features.Set<IForwarderErrorFeature>(null);
                    continue;
                }
            }

            Log.ForwardFailed(_logger, target.TaskId, target.Prefix, error.ToString(), failure?.Message ?? "");
            return;
        }
    }

    private static Task PlainAsync(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(message + "\n");
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 5210, Level = LogLevel.Information, Message = "Load balancer listening on {Url} for target groups {Groups}")]
        public static partial void Listening(ILogger logger, string url, string groups);

        [LoggerMessage(EventId = 5211, Level = LogLevel.Information, Message = "Task {TaskId} at {Target} could not be reached ({Reason}); the request goes to another target")]
        public static partial void Retried(ILogger logger, string taskId, Uri target, string reason);

        [LoggerMessage(EventId = 5212, Level = LogLevel.Warning, Message = "Forwarding to task {TaskId} at {Target} failed: {Error} {Reason}")]
        public static partial void ForwardFailed(ILogger logger, string taskId, Uri target, string error, string reason);
    }
}
