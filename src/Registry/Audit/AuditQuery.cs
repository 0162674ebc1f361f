using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Registry.Data;
using Registry.Iam;

namespace Registry.Audit;

/// <summary>
/// <c>GET /admin/v1/audit-events</c>: newest first, filtered by <c>principal</c>, <c>action</c>,
/// <c>outcome</c>, <c>since</c>/<c>until</c> (ISO 8601), paged by <c>limit</c> (default 100, at most 1000)
/// and <c>before</c> (the <c>next</c> of the previous page).
/// </summary>
internal sealed class AuditQuery(IDbContextFactory<RegistryDbContext> dbFactory)
{
    public async Task<object> FindAsync(IQueryCollection query, CancellationToken cancellationToken)
    {
        var limit = query.TryGetValue("limit", out var limitText)
            ? int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= 1000 ? n : throw IamException.Invalid("limit must be an integer from 1 to 1000")
            : 100;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var events = db.AuditEvents.AsNoTracking();
        if (query["principal"].ToString() is { Length: > 0 } principal)
        {
            events = events.Where(e => e.Principal == principal);
        }

        if (query["action"].ToString() is { Length: > 0 } action)
        {
            events = events.Where(e => e.Action == action);
        }

        if (query["outcome"].ToString() is { Length: > 0 } outcome)
        {
            events = events.Where(e => e.Outcome == outcome);
        }

        if (Time(query, "since") is { } since)
        {
            events = events.Where(e => e.Time >= since);
        }

        if (Time(query, "until") is { } until)
        {
            events = events.Where(e => e.Time < until);
        }

        if (query.TryGetValue("before", out var beforeText))
        {
            var before = long.TryParse(beforeText, NumberStyles.None, CultureInfo.InvariantCulture, out var b) ? b : throw IamException.Invalid("before must be an event id");
            events = events.Where(e => e.Id < before);
        }

        var page = await events.OrderByDescending(e => e.Id).Take(limit + 1).ToListAsync(cancellationToken);
        var shown = page.Take(limit).ToList();
        return new
        {
            events = shown.Select(e => new { id = e.Id, time = DateTime.SpecifyKind(e.Time, DateTimeKind.Utc), principal = e.Principal, action = e.Action, resource = e.Resource, sourceIp = e.SourceIp, outcome = e.Outcome, detail = e.Detail }),
            next = page.Count > limit ? shown[^1].Id : (long?)null,
        };
    }

    private static DateTime? Time(IQueryCollection query, string name) =>
        query[name].ToString() is not { Length: > 0 } text ? null
        : DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time) ? time.UtcDateTime
        : throw IamException.Invalid($"{name} must be an ISO 8601 time");
}
