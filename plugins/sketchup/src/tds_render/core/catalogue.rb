# frozen_string_literal: true

module Tds
  module Render
    module Core
      # GET /api/v1/styles, ready for the panel: option lists, what each render costs, and which
      # kinds this server can do.
      class Catalogue
        Option = Struct.new(:id, :name, :description)

        attr_reader :scene_types, :architectural_styles, :lighting, :resolutions, :costs, :engine, :kinds

        def initialize(body)
          @scene_types = options(body['scene_types'])
          @architectural_styles = options(body['architectural_styles'])
          @lighting = options(body['lighting'])
          @resolutions = Array(body['resolutions']).map { |r| [r['id'].to_s, r['long_edge'].to_i] }.to_h
          @costs = body['costs'].is_a?(Hash) ? body['costs'] : {}
          @kinds = Array(body['kinds']).map { |k| [k['id'].to_s, k['available'] == true] }.to_h
          @engine = body['engine'].is_a?(Hash) ? body['engine'] : {}
        end

        def cost(kind, resolution)
          row = costs[kind.to_s]
          row && row[resolution.to_s]
        end

        def available?(kind)
          kinds.fetch(kind.to_s, false)
        end

        def long_edge(resolution)
          resolutions[resolution.to_s]
        end

        # The panel's option lists as plain hashes (for the HTML dialog's JSON).
        def to_h
          {
            'scene_types' => scene_types.map(&:to_h),
            'architectural_styles' => architectural_styles.map(&:to_h),
            'lighting' => lighting.map(&:to_h),
            'resolutions' => resolutions.map { |id, edge| { 'id' => id, 'long_edge' => edge } },
            'engine' => engine['name']
          }
        end

        # What a click would cost against the account from GET /api/v1/me (nil before it loaded).
        def quote(settings, account, kind: 'render')
          Quote.new(cost(kind, settings.resolution), account, settings.resolution, available?(kind))
        end

        private

        def options(list)
          Array(list).map { |o| Option.new(o['id'].to_s, o['name'].to_s, o['description'].to_s) }
        end
      end

      # Cost and balance, shown next to the Render button before the click.
      class Quote
        RANKS = %w[1k 2k 4k].freeze

        attr_reader :cost, :balance, :plan_name, :max_resolution

        def initialize(cost, account, resolution, kind_available = true)
          @cost = cost
          @resolution = resolution
          @kind_available = kind_available
          return unless account

          @balance = account['credits']
          plan = account['plan'] || {}
          @plan_name = plan['name']
          @max_resolution = plan['max_resolution']
        end

        def in_plan?
          return true unless max_resolution && RANKS.include?(@resolution) && RANKS.include?(max_resolution)

          RANKS.index(@resolution) <= RANKS.index(max_resolution)
        end

        def affordable?
          !cost.nil? && !balance.nil? && balance >= cost
        end

        def ok?
          @kind_available && in_plan? && affordable?
        end

        def text
          return 'Unknown resolution for this server.' if cost.nil?
          return "#{cost} credits" if balance.nil?
          return "#{@resolution} is not in the #{plan_name} plan (up to #{max_resolution})." unless in_plan?

          line = "#{cost} credits · balance #{balance}"
          affordable? ? line : "#{line}: not enough. Buy credits or choose a lower resolution."
        end

        def to_h
          { 'cost' => cost, 'balance' => balance, 'ok' => ok?, 'text' => text }
        end
      end
    end
  end
end
