# frozen_string_literal: true

require 'tmpdir'

module Tds
  module Render
    module Host
      # The active view as PNG bytes, at a size chosen by Core::Output.capture_size.
      module Capture
        module_function

        def png(view, width, height)
          path = File.join(Dir.tmpdir, "tds-capture-#{Process.pid}-#{rand(1 << 30)}.png")
          written = view.write_image(filename: path, width: width, height: height,
                                     antialias: true, transparent: false)
          unless written && File.file?(path)
            raise Core::ApiError.new(:capture, 'SketchUp could not export the view. Try a smaller resolution.')
          end

          bytes = File.binread(path)
          unless Core::Output.png_size(bytes)
            raise Core::ApiError.new(:capture, 'SketchUp wrote something that is not a PNG.')
          end

          bytes
        ensure
          File.delete(path) if path && File.exist?(path)
        end
      end
    end
  end
end
