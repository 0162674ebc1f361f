using System.Runtime.CompilerServices;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;

namespace Registry.Data;

/// <summary>
/// A hot-path query compiled once per model. EF Core binds a compiled query to the first model it runs
/// against; a server has one model (one provider), but one process may host several (tests run SQLite
/// and PostgreSQL side by side), so each model gets its own compilation.
/// </summary>
public sealed class CompiledQuery<TQuery>
    where TQuery : class
{
    private readonly ConditionalWeakTable<IModel, TQuery> _byModel = new();
    private readonly ConditionalWeakTable<IModel, TQuery>.CreateValueCallback _compile;

    /// <param name="compile">Compiles the query, typically with <c>EF.CompileAsyncQuery</c>.</param>
    public CompiledQuery(Func<TQuery> compile) => _compile = _ => compile();

    /// <summary>The query compiled for <paramref name="db"/>'s model.</summary>
    public TQuery For(DbContext db) => _byModel.GetValue(db.Model, _compile);
}
