using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Registry.Data.PostgreSql.Migrations
{
    /// <inheritdoc />
    public partial class Lifecycle : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<DateTime>(
                name: "LifecycleEvaluatedAt",
                table: "Repositories",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "LifecyclePolicy",
                table: "Repositories",
                type: "text",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "LifecyclePreviewPolicy",
                table: "Repositories",
                type: "text",
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "LifecycleEvaluatedAt",
                table: "Repositories");

            migrationBuilder.DropColumn(
                name: "LifecyclePolicy",
                table: "Repositories");

            migrationBuilder.DropColumn(
                name: "LifecyclePreviewPolicy",
                table: "Repositories");
        }
    }
}
