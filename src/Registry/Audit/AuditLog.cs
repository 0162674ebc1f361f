using System.Threading.Channels;
using Registry.Data.Entities;

namespace Registry.Audit;

/// <summary>
/// Records audit events without making the request wait for the database: events queue in memory and
/// <see cref="AuditWriter"/> stores them in batches (within about a second). A crash can lose the
/// events of that last second; a queue that outgrows <see cref="Capacity"/> (the database down) drops
/// the newest and counts them, rather than grow without bound.
/// </summary>
internal sealed class AuditLog(TimeProvider clock)
{
    public const int Capacity = 100_000;

    private readonly Channel<AuditEventEntity> _queue = Channel.CreateBounded<AuditEventEntity>(new BoundedChannelOptions(Capacity)
    {
        FullMode = BoundedChannelFullMode.DropWrite,
        SingleReader = true,
    });

    private long _dropped;

    public ChannelReader<AuditEventEntity> Reader => _queue.Reader;

    /// <summary>Events dropped because the queue was full.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    public void Record(HttpContext context, string action, string resource, string outcome, string? detail)
    {
        var name = context.User.Identity?.IsAuthenticated == true && context.User.Identity.Name is { Length: > 0 } n ? n : "anonymous";
        var address = context.Connection.RemoteIpAddress;
        var entry = new AuditEventEntity
        {
            Time = clock.GetUtcNow().UtcDateTime,
            Principal = name,
            Action = action,
            Resource = resource,
            SourceIp = (address is { IsIPv4MappedToIPv6: true } ? address.MapToIPv4() : address)?.ToString(),
            Outcome = outcome,
            Detail = detail,
        };
        if (!_queue.Writer.TryWrite(entry))
        {
            Interlocked.Increment(ref _dropped);
        }
    }

    /// <summary>Allowed for a 2xx/3xx answer, Denied for 401/403, Failed otherwise.</summary>
    public static string OutcomeOf(int status) => status switch
    {
        < 400 => "Allowed",
        401 or 403 => "Denied",
        _ => "Failed",
    };
}
