# frozen_string_literal: true

require 'fileutils'
require 'json'

module Tds
  module Render
    module Host
      # What the panel does: load option lists, costs and the balance, capture the view, render,
      # save the result next to the model and optionally place it in the model. Every API call
      # goes through the core's asynchronous client, so SketchUp stays responsive.
      class App
        def self.instance
          @instance ||= new
        end

        attr_reader :settings, :catalogue, :account, :result, :error, :status

        def initialize(store: SettingsStore.new, transport: HttpTransport.new, scheduler: TIMER, dialog: nil)
          @store = store
          @transport = transport
          @scheduler = scheduler
          @settings = store.load
          @dialog = dialog || Dialog.new(self)
          @catalogue = nil
          @account = nil
          @busy = false
          @render_id = nil
          @result = nil
          @image = nil
          @error = nil
          @status = nil
          @show_settings = false
        end

        def busy?
          @busy
        end

        def show(settings: false)
          load_project
          @show_settings = settings || !@settings.key?
          reopened = @dialog.visible?
          @dialog.show
          push if reopened # a new page asks for its state itself ("ready")
        end

        def dialog_ready
          load_project
          push
          refresh
        end

        def client
          Core::Client.new(server_url: @settings.server_url, api_key: @settings.api_key,
                           transport: @transport, scheduler: @scheduler)
        end

        # GET /styles and /me: option lists, costs and the balance before any click.
        def refresh
          unless @settings.key?
            @error = Core::ApiError.no_key
            return push
          end

          @error = nil
          @status = 'Loading styles and balance…'
          push
          api = client
          api.styles { |result| loaded(result) { |catalogue| @catalogue = catalogue } }
          api.me { |result| loaded(result) { |account| @account = account } }
        end

        # `values` may hold a new api_key; an empty one keeps the stored key.
        def save_settings(values)
          key = values.delete('api_key').to_s
          @settings.api_key = key unless key.strip.empty?
          @settings.update(values)
          @store.save(@settings)
          @show_settings = false
          @catalogue = nil
          @account = nil
          refresh
        end

        def options_changed(values)
          @settings.update(values)
          @store.save(@settings)
          ModelProject.write(Sketchup.active_model, @settings.project)
          push
        end

        def render(values = {})
          return if @busy

          @settings.update(values)
          @store.save(@settings)
          problems = @settings.problems
          unless problems.empty?
            return fail_with(@settings.key? ? Core::ApiError.new(:bad_request, problems.join(' ')) : Core::ApiError.no_key)
          end

          model = Sketchup.active_model
          ModelProject.write(model, @settings.project)
          png = capture(model.active_view)
          return unless png

          @busy = true
          @error = nil
          @result = nil
          @model_path = model.path
          @status = 'Sending the view…'
          push
          @client = client
          @client.render(png, @settings, on_progress: method(:progressed)) { |result| rendered(result) }
        end

        def cancel
          return unless @busy && @render_id

          @client.cancel(@render_id) { |_result| nil } # the render's own poll reports the cancel
        end

        def place_in_model
          return unless @result

          model = Sketchup.active_model
          bounds = model.bounds
          width = bounds.valid? && bounds.width > 0 ? bounds.width : 200 # inches
          origin = bounds.valid? ? Geom::Point3d.new(bounds.max.x + width / 10, bounds.min.y, 0) : Geom::Point3d.new(0, 0, 0)
          model.start_operation('Place tds render', true)
          image = model.active_entities.add_image(@result['path'], origin, width)
          model.commit_operation
          image
        end

        def open_folder
          return unless @result

          UI.openURL("file:///#{File.dirname(@result['path']).sub(%r{\A/+}, '')}")
        end

        def state
          quote = @catalogue && @catalogue.quote(@settings, @account)
          {
            'version' => VERSION,
            'settings' => @settings.to_h.merge('has_key' => @settings.key?),
            'show_settings' => @show_settings,
            'catalogue' => @catalogue && @catalogue.to_h,
            'account' => @account && {
              'email' => @account['email'], 'credits' => @account['credits'],
              'plan' => (@account['plan'] || {})['name']
            },
            'quote' => quote && quote.to_h,
            'busy' => @busy,
            'status' => @status,
            'error' => @error && { 'kind' => @error.kind.to_s, 'title' => @error.title, 'message' => @error.detail },
            'result' => @result
          }
        end

        private

        # The active model's project code into the panel (another model may be active now).
        def load_project
          @settings.project = ModelProject.read(Sketchup.active_model)
        end

        def push
          data = state
          data['image'] = @image if @image
          @image = nil # the picture goes to the page once, not with every update
          @dialog.update(data)
        end

        def loaded(result)
          if result.ok?
            yield result.value
            @status = nil if @catalogue && @account
          else
            @error = result.error
            @status = nil
          end
          push
        end

        def capture(view)
          long_edge = (@catalogue && @catalogue.long_edge(@settings.resolution)) || 2048
          width, height = Core::Output.capture_size(view.vpwidth, view.vpheight, long_edge)
          Capture.png(view, width, height)
        rescue Core::ApiError => e
          fail_with(e)
          nil
        end

        def progressed(info)
          @render_id = info['render_id'] if info['render_id']
          @status =
            if info['status'] == 'retrying' then info['message']
            elsif info['status'] == 'queued' then "Queued#{info['queue_position'] ? " (position #{info['queue_position']})" : ''}…"
            elsif info['progress'] then "Rendering… #{(info['progress'] * 100).round} %"
            else 'Rendering…'
            end
          push
        end

        def rendered(result)
          return finish(result.error) unless result.ok?

          outcome = result.value
          @account['credits'] = outcome.credits if @account && outcome.credits
          @status = 'Downloading the render…'
          push
          @client.download(outcome.output_url) do |download|
            download.ok? ? save(outcome, download.value) : finish(download.error)
          end
        end

        def save(outcome, bytes)
          path = Core::Output.path_for(@model_path, fallback_dir: fallback_dir, ext: Core::Output.image_ext(bytes))
          File.binwrite(path, bytes)
          @result = { 'path' => path, 'render_id' => outcome.id, 'url' => outcome.output_url,
                      'width' => outcome.render['width'], 'height' => outcome.render['height'],
                      'credits_used' => outcome.render['credits_used'], 'project' => outcome.render['project'] }
          @image = "data:image/jpeg;base64,#{[bytes].pack('m0')}"
          place_in_model if @settings.place_in_model
          finish(nil, "Saved #{File.basename(path)}")
        rescue SystemCallError => e
          finish(Core::ApiError.new(:bad_response, "Could not save the render (#{e.message}). It is at #{outcome.output_url}"))
        end

        def finish(error, status = nil)
          @busy = false
          @render_id = nil
          @error = error
          @status = status
          push
        end

        def fail_with(error)
          @error = error
          @status = nil
          push
        end

        # An unsaved model has no folder: its renders go to Documents/tds renders.
        def fallback_dir
          dir = File.join(Dir.home, 'Documents', 'tds renders')
          FileUtils.mkdir_p(dir)
          dir
        end
      end
    end
  end
end
