using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Eto.Drawing;
using Eto.Forms;
using Rhino;
using Rhino.Geometry;
using Rhino.UI;
using Tds.Plugins.Core;

namespace Tds.RhinoPlugin
{
    /// <summary>The modeless tds panel in Eto (Windows and macOS). Capture runs on Rhino's UI thread
    /// in the click handler; HTTP runs on the thread pool; every result comes back through
    /// RhinoApp.InvokeOnUiThread before it touches the form or the document.</summary>
    public sealed class RenderForm : Form
    {
        static RenderForm _open;

        readonly RhinoDoc _doc;
        readonly RenderController _controller;
        readonly DropDown _scene = new DropDown(), _style = new DropDown(), _lighting = new DropDown(), _resolution = new DropDown();
        readonly TextArea _prompt = new TextArea { Height = 54, AcceptsReturn = false };
        readonly TextBox _project = new TextBox { MaxLength = PluginSettings.MaxProject, PlaceholderText = "2026-017 Harbour Lofts" };
        const string ProjectSection = "tds", ProjectEntry = "project"; // the document's user text
        readonly Label _account = new Label { TextColor = Colors.Gray };
        readonly Label _quote = new Label { Wrap = WrapMode.Word };
        readonly Button _render = new Button { Text = "Render view" };
        readonly Button _cancel = new Button { Text = "Cancel", Visible = false };
        readonly Button _settings = new Button { Text = "Settings…" };
        readonly Button _refresh = new Button { Text = "Refresh" };
        readonly Label _status = new Label { Wrap = WrapMode.Word };
        readonly Label _error = new Label { Wrap = WrapMode.Word, TextColor = Colors.Firebrick, Visible = false };
        readonly ImageView _preview = new ImageView { Size = new Size(380, 240) };
        readonly Button _place = new Button { Text = "Place in model", Enabled = false };
        readonly Button _folder = new Button { Text = "Show file", Enabled = false };
        CancellationTokenSource _running;
        RenderResult _result;
        bool _filling;

        public static void ShowFor(RhinoDoc doc)
        {
            if (_open != null && _open._doc == doc)
            {
                _open.BringToFront();
                return;
            }
            _open?.Close();
            _open = new RenderForm(doc, TdsRhinoPlugIn.Instance.Controller) { Owner = RhinoEtoApp.MainWindow };
            _open.Closed += (s, e) => _open = null;
            _open.Show();
        }

        RenderForm(RhinoDoc doc, RenderController controller)
        {
            _doc = doc;
            _controller = controller;
            Title = "tds Render";
            Resizable = true;
            MinimumSize = new Size(400, 600);
            Padding = new Padding(10);
            Content = new TableLayout
            {
                Spacing = new Size(6, 6),
                Rows =
                {
                    _account,
                    Pair("Scene", _scene, "Resolution", _resolution),
                    Pair("Style", _style, "Lighting", _lighting),
                    new Label { Text = "Prompt (optional)" },
                    _prompt,
                    new Label { Text = "Project (optional: the code this model's renders are billed to, kept in the .3dm)" },
                    _project,
                    _quote,
                    _render,
                    new StackLayout { Orientation = Orientation.Horizontal, Spacing = 6, Items = { _cancel, _settings, _refresh } },
                    _status,
                    _error,
                    new TableRow(_preview) { ScaleHeight = true },
                    new StackLayout { Orientation = Orientation.Horizontal, Spacing = 6, Items = { _place, _folder } },
                },
            };

            _render.Click += (s, e) => StartRender();
            _cancel.Click += (s, e) => Background(() => _controller.CancelAsync(), () => { });
            _settings.Click += (s, e) => EditSettings();
            _refresh.Click += (s, e) => Refresh();
            _place.Click += (s, e) => Place();
            _folder.Click += (s, e) => ShowFile();
            foreach (var box in new[] { _scene, _style, _lighting, _resolution }) box.SelectedIndexChanged += (s, e) => OptionsChanged();
            _prompt.LostFocus += (s, e) => OptionsChanged();
            _project.LostFocus += (s, e) => ProjectChanged();
            Shown += (s, e) =>
            {
                _project.Text = DocumentProject() ?? "";
                ProjectChanged();
                if (_controller.Catalogue != null) FillOptions();
                if (!_controller.Settings.HasKey) EditSettings();
                else Refresh();
            };
            Closed += (s, e) => _running?.Cancel();
        }

        static TableLayout Pair(string leftCaption, Control left, string rightCaption, Control right)
        {
            return new TableLayout
            {
                Spacing = new Size(8, 2),
                Rows =
                {
                    new TableRow(new Label { Text = leftCaption }, new Label { Text = rightCaption }),
                    new TableRow(new TableCell(left, true), new TableCell(right, true)),
                },
            };
        }

        /// <summary>Runs work off the UI thread and `then` (or the error) back on it.</summary>
        void Background(Func<Task> work, Action then)
        {
            Task.Run(work).ContinueWith(task => RhinoApp.InvokeOnUiThread(new Action(() =>
            {
                var error = task.Exception?.GetBaseException();
                if (error is TdsException tds) ShowError(tds);
                else if (error != null && !(error is OperationCanceledException)) ShowError(new TdsException(TdsErrorKind.BadResponse, error.Message));
                then();
            })));
        }

        void Refresh()
        {
            ShowError(null);
            _status.Text = "Loading styles and balance…";
            Background(() => _controller.RefreshAsync(), () =>
            {
                _status.Text = "";
                FillOptions();
                ShowQuote();
            });
        }

        void FillOptions()
        {
            var catalogue = _controller.Catalogue;
            if (catalogue == null) return;
            var settings = _controller.Settings;
            _filling = true;
            try
            {
                Fill(_scene, catalogue.SceneTypes.Select(o => new ListItem { Key = o.Id, Text = o.Name }), settings.SceneType, null);
                Fill(_resolution, catalogue.Resolutions.Select(r => new ListItem { Key = r.Id, Text = r.ToString() }), settings.Resolution, null);
                Fill(_style, catalogue.ArchitecturalStyles.Select(o => new ListItem { Key = o.Name, Text = o.Name }), settings.ArchitecturalStyle, "Any style");
                Fill(_lighting, catalogue.Lighting.Select(o => new ListItem { Key = o.Name, Text = o.Name }), settings.Lighting, "As modelled");
                _prompt.Text = settings.Prompt;
            }
            finally
            {
                _filling = false;
            }
        }

        static void Fill(DropDown box, IEnumerable<ListItem> items, string selected, string blank)
        {
            box.Items.Clear();
            if (blank != null) box.Items.Add(new ListItem { Key = "", Text = blank });
            foreach (var item in items) box.Items.Add(item);
            box.SelectedKey = selected ?? "";
            if (box.SelectedIndex < 0 && box.Items.Count > 0) box.SelectedIndex = 0;
        }

        void OptionsChanged()
        {
            if (_filling || _controller.Catalogue == null) return;
            var next = _controller.Settings.Clone();
            next.SceneType = Key(_scene) ?? next.SceneType;
            next.Resolution = Key(_resolution) ?? next.Resolution;
            next.ArchitecturalStyle = Key(_style);
            next.Lighting = Key(_lighting);
            next.Prompt = _prompt.Text;
            _controller.SaveSettings(next);
            ShowQuote();
        }

        /// <summary>The project code kept in the document (its user text), or null.</summary>
        string DocumentProject()
        {
            var value = _doc.Strings.GetValue(ProjectSection, ProjectEntry);
            return string.IsNullOrWhiteSpace(value) ? null : value.Trim();
        }

        /// <summary>The field into the document (only a change, so the model is not marked modified
        /// for nothing) and into the next render.</summary>
        void ProjectChanged()
        {
            var code = (_project.Text ?? "").Trim();
            if (DocumentProject() != (code.Length == 0 ? null : code))
            {
                if (code.Length == 0) _doc.Strings.Delete(ProjectSection, ProjectEntry);
                else _doc.Strings.SetString(ProjectSection, ProjectEntry, code);
            }
            _controller.SetProject(_doc.Path ?? "", code, remember: false);
        }

        static string Key(DropDown box) => string.IsNullOrEmpty(box.SelectedKey) ? null : box.SelectedKey;

        void ShowQuote()
        {
            var quote = _controller.Quote;
            var account = _controller.Account;
            _account.Text = account == null ? "" : account.Email + " · " + account.Plan?.Name + " · " + account.Credits + " credits";
            _quote.Text = quote?.Text ?? (_controller.Settings.HasKey ? "Loading costs and balance…" : "Add your API key in Settings.");
            _quote.TextColor = quote != null && !quote.Ok ? Colors.Firebrick : SystemColors.ControlText;
            _render.Enabled = _running == null && quote != null && quote.Ok;
        }

        void ShowError(TdsException error)
        {
            _error.Visible = error != null;
            _error.Text = error == null ? "" : error.Title + ": " + error.Detail;
        }

        void SetBusy(bool busy)
        {
            _cancel.Visible = busy;
            _settings.Enabled = !busy;
            _render.Enabled = !busy;
            if (!busy) ShowQuote();
        }

        void StartRender()
        {
            if (_running != null) return;
            OptionsChanged();
            ProjectChanged();
            ShowError(null);
            byte[] png;
            var view = _doc.Views.ActiveView;
            try
            {
                if (view == null) throw new TdsException(TdsErrorKind.Capture, "There is no active view.");
                png = _controller.Capture(new RhinoViewCapture(view)); // on the UI thread, as Rhino requires
            }
            catch (TdsException e)
            {
                ShowError(e);
                return;
            }
            var modelPath = _doc.Path ?? "";
            var cancel = _running = new CancellationTokenSource();
            SetBusy(true);
            _status.Text = "Sending the view…";
            var progress = new UiProgress(text => _status.Text = text);
            RenderResult result = null;
            Background(async () => result = await _controller.RenderAsync(png, modelPath, null, progress, cancel.Token), () =>
            {
                _running = null;
                cancel.Dispose();
                if (result != null) ShowResult(result);
                else if (_status.Text.StartsWith("Rendering") || _status.Text.StartsWith("Sending") || _status.Text.StartsWith("Queued")) _status.Text = "";
                SetBusy(false);
            });
        }

        void ShowResult(RenderResult result)
        {
            _result = result;
            using (var stream = new MemoryStream(result.Image)) _preview.Image = new Bitmap(stream);
            _status.Text = "Saved " + Path.GetFileName(result.SavedPath);
            _place.Enabled = true;
            _folder.Enabled = true;
            if (_controller.Settings.PlaceInModel) Place();
        }

        /// <summary>A picture frame beside everything in the model, as wide as the model.</summary>
        void Place()
        {
            if (_result == null) return;
            var box = _doc.Objects.BoundingBox;
            var width = box.IsValid && box.Diagonal.X > 0 ? box.Diagonal.X : 10 * RhinoMath.UnitScale(UnitSystem.Meters, _doc.ModelUnitSystem);
            var height = width * _result.Render.Height / Math.Max(1, _result.Render.Width);
            var origin = box.IsValid ? new Point3d(box.Max.X + width * 0.1, box.Min.Y, box.Min.Z) : Point3d.Origin;
            var undo = _doc.BeginUndoRecord("Place tds render");
            var id = _doc.Objects.AddPictureFrame(new Plane(origin, Vector3d.XAxis, Vector3d.YAxis), _result.SavedPath, false, width, height, false, false);
            _doc.EndUndoRecord(undo);
            if (id == Guid.Empty) ShowError(new TdsException(TdsErrorKind.Capture, "Rhino could not add the picture frame."));
            _doc.Views.Redraw();
        }

        void ShowFile()
        {
            if (_result == null) return;
            if (Rhino.Runtime.HostUtils.RunningOnWindows) Process.Start("explorer.exe", "/select,\"" + _result.SavedPath + "\"");
            else Process.Start("open", "-R \"" + _result.SavedPath + "\"");
        }

        void EditSettings()
        {
            var dialog = new SettingsDialog(_controller.Settings);
            if (!dialog.ShowModal(this)) return;
            _controller.SaveSettings(dialog.Result);
            Refresh();
        }

        /// <summary>Progress reports arrive on the thread pool: hop to the UI thread.</summary>
        sealed class UiProgress : IProgress<RenderProgress>
        {
            readonly Action<string> _show;
            public UiProgress(Action<string> show) { _show = show; }
            public void Report(RenderProgress value) => RhinoApp.InvokeOnUiThread(new Action(() => _show(value.Text)));
        }
    }

    /// <summary>Server address, API key (masked; blank keeps the stored one) and "place in model".</summary>
    public sealed class SettingsDialog : Dialog<bool>
    {
        readonly TextBox _server = new TextBox();
        readonly PasswordBox _key = new PasswordBox();
        readonly CheckBox _place = new CheckBox { Text = "Place each render in the model as a picture frame" };
        readonly PluginSettings _current;

        public SettingsDialog(PluginSettings current)
        {
            _current = current;
            Title = "tds settings";
            Padding = new Padding(10);
            _server.Text = current.ServerUrl;
            _place.Checked = current.PlaceInModel;
            DefaultButton = new Button { Text = "Save" };
            DefaultButton.Click += (s, e) => Close(true);
            AbortButton = new Button { Text = "Cancel" };
            AbortButton.Click += (s, e) => Close(false);
            Content = new StackLayout
            {
                Spacing = 6,
                HorizontalContentAlignment = HorizontalAlignment.Stretch,
                Items =
                {
                    new Label { Text = "Server" },
                    _server,
                    new Label { Text = current.HasKey ? "API key (saved; paste a new one to replace it)" : "API key (tds dashboard: Settings → API keys)" },
                    _key,
                    _place,
                    new StackLayout { Orientation = Orientation.Horizontal, Spacing = 6, Items = { new StackLayoutItem(null, true), AbortButton, DefaultButton } },
                },
            };
        }

        public PluginSettings Result
        {
            get
            {
                var next = _current.Clone();
                next.ServerUrl = _server.Text;
                next.ApiKey = _key.Text; // blank: RenderController.SaveSettings keeps the stored key
                next.PlaceInModel = _place.Checked == true;
                return next;
            }
        }
    }
}
